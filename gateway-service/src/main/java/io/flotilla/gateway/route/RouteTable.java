package io.flotilla.gateway.route;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.time.Durations;
import io.flotilla.gateway.config.GatewayConfig;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The aliases clients may call: routes of the routes file, overlaid by routes stored through the
 * admin API (in {@code gateway.routes}, so every replica sees them; each replica reloads them every
 * {@code route-refresh}). Providers and their credentials come only from the file.
 */
@Singleton
public class RouteTable {

    private static final Logger LOG = Logger.getLogger(RouteTable.class);

    /** The service's mapper reading YAML, strict about unknown fields (a typo is an error). */
    private final ObjectMapper yaml;

    private final GatewayConfig config;
    private final Pool pool;
    private final Vertx vertx;
    private final Map<String, Routes.ProviderSpec> providers;
    private volatile Map<String, String> unserved = Map.of();
    private final Map<String, Routes.RouteSpec> fileRoutes;
    private volatile Map<String, Route> routes = Map.of();

    RouteTable(GatewayConfig config, Pool pool, Vertx vertx, ObjectMapper json) {
        this.yaml =
                json.copyWith(new YAMLFactory())
                        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        this.config = config;
        this.pool = pool;
        this.vertx = vertx;
        Routes.File file = load(config.routesFile().orElse(null));
        this.providers = file.providers() == null ? Map.of() : Map.copyOf(file.providers());
        this.fileRoutes = file.routes() == null ? Map.of() : new LinkedHashMap<>(file.routes());
        List<FieldError> errors = new ArrayList<>();
        fileRoutes.forEach(
                (alias, spec) -> errors.addAll(validate(alias, spec, fileRoutes.keySet())));
        if (!errors.isEmpty()) {
            throw new IllegalStateException("the routes file is invalid: " + errors);
        }
        this.routes = resolveAll(fileRoutes);
    }

    void start(@Observes StartupEvent ev) {
        try {
            refresh().await().atMost(Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            // serve the file's routes; stored routes arrive with the next successful refresh
            LOG.warnf(e, "stored routes could not be loaded at start: %s", e.getMessage());
        }
        vertx.setPeriodic(
                config.routeRefresh().toMillis(),
                id ->
                        refresh()
                                .subscribe()
                                .with(
                                        ok -> {},
                                        e ->
                                                LOG.warnf(
                                                        e,
                                                        "reloading stored routes failed: %s",
                                                        e.getMessage())));
    }

    /** The route of an alias, or null. */
    public Route route(String alias) {
        return routes.get(alias);
    }

    /** Stored routes this replica does not serve, and why (e.g. a provider no longer known). */
    public Map<String, String> unserved() {
        return unserved;
    }

    private static String describe(List<FieldError> errors) {
        return errors.stream()
                .map(e -> e.field() + ": " + e.message())
                .collect(java.util.stream.Collectors.joining("; "));
    }

    /** All aliases, in file order then stored ones. */
    public Map<String, Route> all() {
        return routes;
    }

    /** Reloads the stored routes and rebuilds the table. */
    public Uni<Void> refresh() {
        return pool.query("SELECT alias, spec FROM gateway.routes")
                .execute()
                .map(
                        rows -> {
                            Map<String, Routes.RouteSpec> merged = new LinkedHashMap<>(fileRoutes);
                            Map<String, Routes.RouteSpec> stored = new LinkedHashMap<>();
                            Map<String, String> refused = new LinkedHashMap<>();
                            rows.forEach(
                                    row -> {
                                        String alias = row.getString("alias");
                                        try {
                                            stored.put(
                                                    alias,
                                                    yaml.convertValue(
                                                            ((JsonObject) row.getValue("spec"))
                                                                    .getMap(),
                                                            Routes.RouteSpec.class));
                                        } catch (IllegalArgumentException e) {
                                            refused.put(alias, "unreadable: " + e.getMessage());
                                        }
                                    });
                            java.util.Set<String> aliases =
                                    new java.util.HashSet<>(merged.keySet());
                            aliases.addAll(stored.keySet());
                            // checked again: the routes file (its providers) may have changed
                            // since a route was stored
                            stored.forEach(
                                    (alias, spec) -> {
                                        List<FieldError> errors = validate(alias, spec, aliases);
                                        if (errors.isEmpty()) {
                                            merged.put(alias, spec);
                                        } else {
                                            refused.put(alias, describe(errors));
                                        }
                                    });
                            refused.forEach(
                                    (alias, why) -> {
                                        if (!why.equals(unserved.get(alias))) {
                                            LOG.errorf(
                                                    "stored route '%s' is not served: %s; fix it with PUT or DELETE /admin/v1/routes/%s",
                                                    alias, why, alias);
                                        }
                                    });
                            unserved = Map.copyOf(refused);
                            routes = resolveAll(merged);
                            return null;
                        });
    }

    /** Every problem of a route spec, each with its path. */
    public List<FieldError> validate(
            String alias, Routes.RouteSpec spec, java.util.Collection<String> aliases) {
        List<FieldError> errors = new ArrayList<>();
        String at = "routes." + alias;
        if (spec == null || (spec.targets() == null) == (spec.auto() == null)) {
            errors.add(
                    new FieldError(
                            at,
                            "give either 'targets' (a list) or 'auto' (cheap and strong aliases)"));
            return errors;
        }
        if (spec.auto() != null) {
            Routes.AutoSpec auto = spec.auto();
            for (String[] side :
                    new String[][] {{"cheap", auto.cheap()}, {"strong", auto.strong()}}) {
                if (side[1] == null || !aliases.contains(side[1]) || side[1].equals(alias)) {
                    errors.add(
                            new FieldError(
                                    at + ".auto." + side[0],
                                    "must name another alias; known: "
                                            + String.join(", ", aliases)));
                }
            }
            return errors;
        }
        if (spec.targets().isEmpty()) {
            errors.add(new FieldError(at + ".targets", "needs at least one target"));
        }
        for (int i = 0; i < spec.targets().size(); i++) {
            Routes.TargetSpec t = spec.targets().get(i);
            String tp = at + ".targets[" + i + "]";
            if (t.provider() == null || !providers.containsKey(t.provider())) {
                errors.add(
                        new FieldError(
                                tp + ".provider",
                                "'"
                                        + t.provider()
                                        + "' is not a provider; known: "
                                        + String.join(", ", providers.keySet())));
            }
            if (t.model() == null || t.model().isBlank()) {
                errors.add(new FieldError(tp + ".model", "is required"));
            }
            if (t.weight() != null && t.weight() < 0) {
                errors.add(new FieldError(tp + ".weight", "must be 0 or more"));
            }
            if (t.contextWindow() != null && t.contextWindow() < 1) {
                errors.add(
                        new FieldError(
                                tp + ".contextWindow", "must be a positive number of tokens"));
            }
            try {
                Durations.parse(t.timeout());
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError(tp + ".timeout", e.getMessage()));
            }
        }
        return errors;
    }

    /** Throws a 400 listing every problem of the spec. */
    public void check(String alias, Routes.RouteSpec spec) {
        List<String> aliases = new ArrayList<>(routes.keySet());
        aliases.add(alias);
        List<FieldError> errors = validate(alias, spec, aliases);
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
    }

    private Map<String, Route> resolveAll(Map<String, Routes.RouteSpec> specs) {
        Map<String, Route> out = new LinkedHashMap<>();
        specs.forEach((alias, spec) -> out.put(alias, resolve(alias, spec)));
        return Map.copyOf(out);
    }

    private Route resolve(String alias, Routes.RouteSpec spec) {
        if (spec.auto() != null) {
            return new Route(alias, List.of(), spec.auto());
        }
        List<Target> targets = new ArrayList<>();
        for (int i = 0; i < spec.targets().size(); i++) {
            Routes.TargetSpec t = spec.targets().get(i);
            Routes.ProviderSpec p = providers.get(t.provider());
            Target.ProviderKind kind =
                    Target.ProviderKind.valueOf(p.type().toUpperCase(Locale.ROOT));
            String key = p.apiKeyEnv() == null ? null : System.getenv(p.apiKeyEnv());
            Duration timeout = Durations.parse(t.timeout());
            targets.add(
                    new Target(
                            t.provider(),
                            kind,
                            p.baseUrl(),
                            key,
                            t.model(),
                            t.weight() != null ? t.weight() : (i == 0 ? 1 : 0),
                            t.contextWindow(),
                            t.prices(),
                            timeout != null ? timeout : config.defaultTimeout(),
                            Durations.parse(p.latency())));
        }
        return new Route(alias, List.copyOf(targets), null);
    }

    private Routes.File load(String path) {
        try (InputStream in =
                path == null
                        ? RouteTable.class.getResourceAsStream("/default-routes.yaml")
                        : Files.newInputStream(Path.of(path))) {
            Routes.File file = yaml.readValue(in, Routes.File.class);
            if (file.providers() != null) {
                file.providers()
                        .forEach(
                                (name, p) -> {
                                    try {
                                        Target.ProviderKind.valueOf(
                                                String.valueOf(p.type()).toUpperCase(Locale.ROOT));
                                    } catch (IllegalArgumentException e) {
                                        throw new IllegalStateException(
                                                "provider '"
                                                        + name
                                                        + "' has type '"
                                                        + p.type()
                                                        + "'; use openai, anthropic, gemini or mock");
                                    }
                                    if (!"mock".equalsIgnoreCase(p.type())
                                            && (p.baseUrl() == null || p.baseUrl().isBlank())) {
                                        throw new IllegalStateException(
                                                "provider '" + name + "' needs a baseUrl");
                                    }
                                });
            }
            LOG.infof(
                    "routes loaded from %s",
                    path == null ? "the built-in offline defaults (mock provider)" : path);
            return file;
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot read the routes file " + path + ": " + e.getMessage(), e);
        }
    }

    /** Stores a route (admin API) for every replica, then reloads. */
    public Uni<Void> store(String alias, Routes.RouteSpec spec) {
        check(alias, spec);
        JsonObject json = JsonObject.mapFrom(spec);
        return pool.preparedQuery(
                        """
                INSERT INTO gateway.routes (alias, spec) VALUES ($1, $2)
                ON CONFLICT (alias) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()""")
                .execute(Tuple.of(alias, json))
                .chain(this::refresh);
    }

    /** Removes a stored route; true when there was one. */
    public Uni<Boolean> remove(String alias) {
        return pool.preparedQuery("DELETE FROM gateway.routes WHERE alias = $1")
                .execute(Tuple.of(alias))
                .chain(rows -> refresh().replaceWith(rows.rowCount() > 0));
    }
}
