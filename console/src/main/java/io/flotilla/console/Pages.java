package io.flotilla.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateInstance;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.NewCookie;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The console's pages, rendered on the server with Qute (which escapes every value it inserts):
 * spend, budgets and limits, runs and a run, workflows, agents, providers. Each page reads the
 * services with the console's credentials and shows the viewer only what is theirs.
 */
@Path("/")
@Produces(MediaType.TEXT_HTML)
public class Pages {

    private static final Set<String> STATUSES =
            Set.of("running", "succeeded", "failed", "cancelled");

    /** The runs page's time filter: runs started within the last hour, day or week. */
    private static final Map<String, Duration> WITHIN = new LinkedHashMap<>();

    static {
        WITHIN.put("1h", Duration.ofHours(1));
        WITHIN.put("24h", Duration.ofHours(24));
        WITHIN.put("7d", Duration.ofDays(7));
    }

    private final Backend backend;
    private final Sessions sessions;
    private final ObjectMapper json;

    @Location("login.html")
    Template login;

    @Location("spend.html")
    Template spend;

    @Location("scopes.html")
    Template scopes;

    @Location("runs.html")
    Template runs;

    @Location("run.html")
    Template run;

    @Location("steps.html")
    Template steps;

    @Location("workflows.html")
    Template workflows;

    @Location("workflow.html")
    Template workflow;

    @Location("agents.html")
    Template agents;

    @Location("providers.html")
    Template providers;

    Pages(Backend backend, Sessions sessions, ObjectMapper json) {
        this.backend = backend;
        this.sessions = sessions;
        this.json = json;
    }

    // ---- signing in ----

    @GET
    @Path("login")
    public TemplateInstance loginPage() {
        return login.data("error", null);
    }

    @POST
    @Path("login")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signIn(@FormParam("token") String token) {
        JsonNode me = token == null || token.isBlank() ? null : backend.whoIs(token.strip());
        if (me == null) {
            return Response.status(401)
                    .entity(
                            login.data(
                                    "error",
                                    "the gateway does not know this token: sign in with the"
                                            + " gateway's admin token or a virtual key of your tenant"))
                    .build();
        }
        Viewer viewer =
                me.path("admin").asBoolean()
                        ? new Viewer(true, null)
                        : new Viewer(false, me.path("tenant").asText());
        return Response.seeOther(URI.create("/spend"))
                .cookie(
                        new NewCookie.Builder(Sessions.COOKIE)
                                .value(sessions.issue(viewer))
                                .path("/")
                                .httpOnly(true)
                                .secure(sessions.secure())
                                .sameSite(NewCookie.SameSite.STRICT)
                                .maxAge((int) sessions.maxAgeSeconds())
                                .build())
                .build();
    }

    @POST
    @Path("logout")
    public Response signOut() {
        return Response.seeOther(URI.create("/login"))
                .cookie(
                        new NewCookie.Builder(Sessions.COOKIE)
                                .value("")
                                .path("/")
                                .maxAge(0)
                                .build())
                .build();
    }

    @GET
    public Response home() {
        return Response.seeOther(URI.create("/spend")).build();
    }

    // ---- spend ----

    @GET
    @Path("spend")
    public TemplateInstance spendPage(@CookieParam(Sessions.COOKIE) String cookie) {
        Viewer v = viewer(cookie);
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        LocalDate monthStart = today.withDayOfMonth(1);
        String tenant = v.admin() ? "" : "&tenant=" + enc(v.tenant());
        List<String> groups = List.of("tenant", "key", "model", "day");
        List<String> paths = new ArrayList<>();
        for (String by : groups) {
            paths.add(
                    "/api/v1/usage?groupBy="
                            + by
                            + "&from="
                            + monthStart
                            + "&to="
                            + today
                            + tenant);
        }
        paths.add("/api/v1/usage?groupBy=tenant&from=" + today + "&to=" + today + tenant);
        paths.add("/admin/v1/scopes" + (v.admin() ? "" : "?tenant=" + enc(v.tenant())));
        List<JsonNode> answers = backend.gatewayGets(paths);
        Map<String, List<Map<String, Object>>> month = new LinkedHashMap<>();
        for (int i = 0; i < groups.size(); i++) {
            month.put(groups.get(i), totals(answers.get(i)));
        }
        List<Map<String, Object>> todayByTenant = totals(answers.get(4));
        double todayCost = todayByTenant.stream().mapToDouble(m -> (double) m.get("cost")).sum();
        double monthCost =
                month.get("tenant").stream().mapToDouble(m -> (double) m.get("cost")).sum();
        long monthTokens =
                month.get("tenant").stream().mapToLong(m -> (long) m.get("tokens")).sum();
        List<Map<String, Object>> top = new ArrayList<>(month.get("key"));
        top.sort(Comparator.comparingDouble(m -> -(double) m.get("cost")));
        top = top.subList(0, Math.min(10, top.size()));
        Map<String, String> keyNames = keyNames(v);
        for (Map<String, Object> m : top) {
            m.put("name", keyNames.getOrDefault((String) m.get("group"), "(a deleted key)"));
        }
        List<Map<String, Object>> budgets = new ArrayList<>();
        for (JsonNode scope : answers.get(5)) {
            if (scope.path("scope").asText().startsWith("tenant:")
                    && scope.path("maxCostUsd").isNumber()) {
                budgets.add(scopeView(scope));
            }
        }
        return spend.data("viewer", v)
                .data("page", "spend")
                .data("today", usd(todayCost))
                .data("month", usd(monthCost))
                .data("monthTokens", monthTokens)
                .data("from", monthStart.toString())
                .data("to", today.toString())
                .data("byTenant", month.get("tenant"))
                .data("byModel", month.get("model"))
                .data("byDay", bars(month.get("day")))
                .data("chartWidth", 20 + 24 * month.get("day").size())
                .data("top", top)
                .data("budgets", budgets);
    }

    /**
     * Key ids to "tenant / key name" for the spend page: the viewer's tenant's keys, or (the admin)
     * those of the first 50 tenants, asked at once.
     */
    private Map<String, String> keyNames(Viewer v) {
        List<String> tenants = new ArrayList<>();
        if (v.admin()) {
            for (JsonNode t : backend.gateway("GET", "/admin/v1/tenants", null)) {
                if (tenants.size() < 50) {
                    tenants.add(t.path("id").asText());
                }
            }
        } else {
            tenants.add(v.tenant());
        }
        Map<String, String> names = new LinkedHashMap<>();
        List<String> paths =
                tenants.stream().map(t -> "/admin/v1/tenants/" + enc(t) + "/keys").toList();
        for (JsonNode keys : backend.gatewayGets(paths)) {
            for (JsonNode k : keys) {
                names.put(
                        k.path("id").asText(),
                        k.path("tenant").asText() + " / " + k.path("name").asText());
            }
        }
        return names;
    }

    /** Usage rows as {group, requests, tokens, cost, costText}. */
    private List<Map<String, Object>> totals(JsonNode rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("group", r.path("group").asText());
            m.put("requests", r.path("requests").asLong());
            m.put("tokens", r.path("inputTokens").asLong() + r.path("outputTokens").asLong());
            m.put("cost", r.path("costUsd").asDouble());
            m.put("costText", usd(r.path("costUsd").asDouble()));
            out.add(m);
        }
        return out;
    }

    /** Day rows with a bar height (SVG attributes, no inline style: the CSP allows none). */
    private static List<Map<String, Object>> bars(List<Map<String, Object>> days) {
        double max = days.stream().mapToDouble(m -> (double) m.get("cost")).max().orElse(0);
        List<Map<String, Object>> out = new ArrayList<>();
        int i = 0;
        for (Map<String, Object> d : days) {
            Map<String, Object> m = new LinkedHashMap<>(d);
            int h = max == 0 ? 0 : (int) Math.round(100 * (double) d.get("cost") / max);
            m.put("x", 10 + i * 24);
            m.put("y", 110 - h);
            m.put("h", h);
            out.add(m);
            i++;
        }
        return out;
    }

    // ---- budgets and limits ----

    @GET
    @Path("scopes")
    public TemplateInstance scopesPage(
            @CookieParam(Sessions.COOKIE) String cookie, @QueryParam("runs") boolean runs) {
        Viewer v = viewer(cookie);
        List<Map<String, Object>> list = new ArrayList<>();
        for (JsonNode s :
                backend.gateway(
                        "GET",
                        "/admin/v1/scopes?runs="
                                + runs
                                + (v.admin() ? "" : "&tenant=" + enc(v.tenant())),
                        null)) {
            list.add(scopeView(s));
        }
        return scopes.data("viewer", v)
                .data("page", "scopes")
                .data("scopes", list)
                .data("runs", runs);
    }

    @POST
    @Path("scopes/{action: pause|resume}")
    public Response pause(
            @CookieParam(Sessions.COOKIE) String cookie,
            @PathParam("action") String action,
            @FormParam("scope") String scope) {
        Viewer v = viewer(cookie);
        JsonNode s = backend.gateway("GET", "/admin/v1/scopes/" + enc(scope), null);
        if (!v.sees(s.path("tenant").asText())) {
            throw new NotFoundException();
        }
        backend.gateway("POST", "/admin/v1/scopes/" + enc(scope) + "/" + action, null);
        return Response.seeOther(URI.create("/scopes")).build();
    }

    private Map<String, Object> scopeView(JsonNode s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scope", s.path("scope").asText());
        m.put("tenant", s.path("tenant").asText());
        m.put("paused", s.path("paused").asBoolean());
        m.put("reset", s.path("reset").asText("none"));
        m.put("rpm", s.path("rpm").isNumber() ? s.path("rpm").asText() : "—");
        m.put("tpm", s.path("tpm").isNumber() ? s.path("tpm").asText() : "—");
        long maxTokens = s.path("maxTokens").asLong(0);
        double maxCost = s.path("maxCostUsd").asDouble(0);
        boolean byCost = maxTokens == 0 && maxCost > 0;
        double used = byCost ? s.path("usedCostUsd").asDouble() : s.path("usedTokens").asLong();
        double reserved =
                byCost ? s.path("reservedCostUsd").asDouble() : s.path("reservedTokens").asLong();
        double limit = byCost ? maxCost : maxTokens;
        m.put("limited", limit > 0);
        m.put("used", byCost ? usd(used) : String.valueOf((long) used));
        m.put("reserved", byCost ? usd(reserved) : String.valueOf((long) reserved));
        m.put(
                "limit",
                limit <= 0 ? "no limit" : byCost ? usd(limit) : String.valueOf((long) limit));
        m.put("unit", byCost ? "USD" : "tokens");
        m.put("usedWidth", limit <= 0 ? 0 : (int) Math.min(300, Math.round(300 * used / limit)));
        m.put(
                "reservedWidth",
                limit <= 0 ? 0 : (int) Math.min(300, Math.round(300 * (used + reserved) / limit)));
        m.put("costText", usd(s.path("usedCostUsd").asDouble()));
        return m;
    }

    // ---- runs ----

    @GET
    @Path("runs")
    public TemplateInstance runsPage(
            @CookieParam(Sessions.COOKIE) String cookie,
            @QueryParam("workflow") String workflowName,
            @QueryParam("status") String status,
            @QueryParam("within") String within) {
        Viewer v = viewer(cookie);
        StringBuilder q = new StringBuilder("/api/v1/runs?limit=200");
        if (status != null && STATUSES.contains(status)) {
            q.append("&status=").append(status);
        }
        if (within != null && WITHIN.containsKey(within)) {
            q.append("&since=").append(Instant.now().minus(WITHIN.get(within)));
        }
        if (workflowName != null && !workflowName.isBlank()) {
            String ref = workflowName.strip();
            if (!v.admin()) { // a tenant's runs are those of its namespace, whatever it types
                ref = v.tenant() + "/" + ref.substring(ref.indexOf('/') + 1);
            }
            q.append("&workflow=").append(enc(ref));
        } else if (!v.admin()) {
            q.append("&namespace=").append(enc(v.tenant()));
        }
        List<Map<String, Object>> list = new ArrayList<>();
        String error = null;
        try {
            for (JsonNode r : backend.executor("GET", q.toString(), null)) {
                list.add(runView(r));
            }
        } catch (Backend.Failed f) {
            if (f.status != 400) {
                throw f;
            }
            error = f.getMessage();
        }
        return runs.data("viewer", v)
                .data("page", "runs")
                .data("runs", list)
                .data("workflow", workflowName == null ? "" : workflowName)
                .data("status", status == null ? "" : status)
                .data("statuses", List.of("running", "succeeded", "failed", "cancelled"))
                .data("within", within == null ? "" : within)
                .data("withins", List.copyOf(WITHIN.keySet()))
                .data("error", error);
    }

    @GET
    @Path("runs/{id}")
    public TemplateInstance runPage(
            @CookieParam(Sessions.COOKIE) String cookie, @PathParam("id") String id) {
        Viewer v = viewer(cookie);
        return withRun(run.data("viewer", v).data("page", "runs"), backend.visibleRun(v, id));
    }

    @GET
    @Path("runs/{id}/steps")
    public TemplateInstance stepsFragment(
            @CookieParam(Sessions.COOKIE) String cookie, @PathParam("id") String id) {
        Viewer v = viewer(cookie);
        return withRun(steps.instance(), backend.visibleRun(v, id));
    }

    /** What the run page and its steps fragment show of a run. */
    private TemplateInstance withRun(TemplateInstance page, JsonNode r) {
        List<Map<String, Object>> stepList = stepViews(r);
        return page.data("run", runView(r))
                .data("steps", stepList)
                .data("timelineHeight", 8 + 18 * stepList.size());
    }

    @POST
    @Path("runs/{id}/cancel")
    public Response cancel(
            @CookieParam(Sessions.COOKIE) String cookie, @PathParam("id") String id) {
        Viewer v = viewer(cookie);
        backend.visibleRun(v, id);
        backend.executor("POST", "/api/v1/runs/" + enc(id) + "/cancel", null);
        return Response.seeOther(URI.create("/runs/" + enc(id))).build();
    }

    @POST
    @Path("runs/{id}/steps/{step}/{decision: approve|reject}")
    public Response decide(
            @CookieParam(Sessions.COOKIE) String cookie,
            @PathParam("id") String id,
            @PathParam("step") String step,
            @PathParam("decision") String decision,
            @FormParam("item") Integer item,
            @FormParam("comment") String comment) {
        Viewer v = viewer(cookie);
        backend.visibleRun(v, id);
        var body = json.createObjectNode().put("by", "console:" + v.name());
        if (comment != null && !comment.isBlank()) {
            body.put("comment", comment);
        }
        backend.executor(
                "POST",
                "/api/v1/runs/"
                        + enc(id)
                        + "/steps/"
                        + enc(step)
                        + "/"
                        + decision
                        + (item == null ? "" : "?item=" + item),
                body.toString());
        return Response.seeOther(URI.create("/runs/" + enc(id))).build();
    }

    private Map<String, Object> runView(JsonNode r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.path("id").asText());
        m.put("workflow", r.path("workflow").asText());
        m.put("revision", r.path("revision").asText());
        m.put("status", r.path("status").asText());
        m.put("ended", !r.path("status").asText().equals("running"));
        m.put("reason", r.path("reason").isTextual() ? r.path("reason").asText() : null);
        m.put("tokens", r.path("tokens").asLong());
        m.put("cost", usd(r.path("costUsd").asDouble()));
        m.put("created", r.path("createdAt").asText());
        m.put(
                "duration",
                duration(r.path("createdAt").asText(null), r.path("finishedAt").asText(null)));
        m.put("output", preview(r.path("output")));
        m.put(
                "parent",
                r.path("parent").path("run").isTextual()
                        ? r.path("parent").path("run").asText()
                        : null);
        List<Map<String, Object>> children = new ArrayList<>();
        for (JsonNode c : r.path("children")) {
            children.add(
                    Map.of(
                            "id",
                            c.path("id").asText(),
                            "workflow",
                            c.path("workflow").asText(),
                            "step",
                            c.path("step").asText(),
                            "status",
                            c.path("status").asText()));
        }
        m.put("children", children);
        return m;
    }

    /**
     * The steps, each with its bar on the run's timeline (from the run's start to its end, or to
     * now while it runs): SVG coordinates, as the CSP allows no inline style.
     */
    private List<Map<String, Object>> stepViews(JsonNode r) {
        List<Map<String, Object>> out = new ArrayList<>();
        Instant runStart = Instant.parse(r.path("createdAt").asText());
        Instant runEnd =
                r.path("finishedAt").isTextual()
                        ? Instant.parse(r.path("finishedAt").asText())
                        : Instant.now();
        double span = Math.max(1, Duration.between(runStart, runEnd).toMillis());
        int row = 0;
        for (JsonNode s : r.path("steps")) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", s.path("id").asText());
            m.put("item", s.path("item").isNumber() ? s.path("item").asText() : null);
            m.put(
                    "name",
                    s.path("id").asText()
                            + (s.path("item").isNumber()
                                    ? "[" + s.path("item").asText() + "]"
                                    : ""));
            m.put("status", s.path("status").asText());
            m.put("attempts", s.path("attempts").asInt());
            m.put("tokens", s.path("tokens").asLong());
            m.put("cost", usd(s.path("costUsd").asDouble()));
            m.put("error", s.path("error").isTextual() ? s.path("error").asText() : null);
            m.put(
                    "duration",
                    duration(s.path("startedAt").asText(null), s.path("finishedAt").asText(null)));
            m.put("output", preview(s.path("output")));
            m.put("awaiting", s.path("status").asText().equals("awaiting_approval"));
            m.put("y", 4 + row * 18);
            m.put("textY", 14 + row * 18);
            int barX = 0;
            int barWidth = 0;
            if (s.path("startedAt").isTextual()) {
                Instant from = Instant.parse(s.path("startedAt").asText());
                Instant to =
                        s.path("finishedAt").isTextual()
                                ? Instant.parse(s.path("finishedAt").asText())
                                : runEnd;
                barX =
                        120
                                + (int)
                                        Math.round(
                                                500
                                                        * Duration.between(runStart, from)
                                                                .toMillis()
                                                        / span);
                barWidth =
                        Math.max(
                                2,
                                (int)
                                        Math.round(
                                                500
                                                        * Duration.between(from, to).toMillis()
                                                        / span));
                barWidth = Math.min(barWidth, 620 - barX);
            }
            m.put("barX", barX);
            m.put("barWidth", barWidth);
            row++;
            out.add(m);
        }
        return out;
    }

    // ---- workflows, agents, providers ----

    @GET
    @Path("workflows")
    public TemplateInstance workflowsPage(@CookieParam(Sessions.COOKIE) String cookie) {
        Viewer v = viewer(cookie);
        JsonNode list =
                backend.executor(
                        "GET",
                        "/api/v1/workflows" + (v.admin() ? "" : "?namespace=" + enc(v.tenant())),
                        null);
        return workflows
                .data("viewer", v)
                .data("page", "workflows")
                .data("workflows", json.convertValue(list, List.class));
    }

    @GET
    @Path("workflows/{namespace}/{name}")
    public TemplateInstance workflowPage(
            @CookieParam(Sessions.COOKIE) String cookie,
            @PathParam("namespace") String namespace,
            @PathParam("name") String name) {
        Viewer v = viewer(cookie);
        if (!v.sees(namespace)) {
            throw new NotFoundException();
        }
        JsonNode w;
        try {
            w =
                    backend.executor(
                            "GET", "/api/v1/workflows/" + enc(namespace) + "/" + enc(name), null);
        } catch (Backend.Failed f) {
            if (f.status == 404 || f.status == 400) {
                throw new NotFoundException();
            }
            throw f;
        }
        String spec;
        try {
            spec = json.writerWithDefaultPrettyPrinter().writeValueAsString(w.path("spec"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            spec = w.path("spec").toString();
        }
        List<Map<String, Object>> stepList = new ArrayList<>();
        for (JsonNode s : w.path("spec").path("steps")) {
            String kind =
                    List.of("agent", "tool", "approval", "workflow", "wait").stream()
                            .filter(s::has)
                            .findFirst()
                            .orElse("?");
            List<String> needs = new ArrayList<>();
            s.path("needs").forEach(n -> needs.add(n.asText()));
            stepList.add(
                    Map.of(
                            "id",
                            s.path("id").asText(),
                            "kind",
                            kind,
                            "needs",
                            String.join(", ", needs),
                            "when",
                            s.path("when").asText("")));
        }
        List<Map<String, Object>> revisions = new ArrayList<>();
        for (JsonNode r :
                backend.executor(
                        "GET",
                        "/api/v1/workflows/" + enc(namespace) + "/" + enc(name) + "/revisions",
                        null)) {
            revisions.add(
                    Map.of(
                            "revision", r.path("revision").asText(),
                            "createdAt", r.path("createdAt").asText(),
                            "runs", r.path("runs").asLong()));
        }
        return workflow.data("viewer", v)
                .data("page", "workflows")
                .data("revisions", revisions)
                .data("namespace", namespace)
                .data("name", name)
                .data("revision", w.path("revision").asText())
                .data("steps", stepList)
                .data("spec", spec);
    }

    @GET
    @Path("agents")
    public TemplateInstance agentsPage(@CookieParam(Sessions.COOKIE) String cookie) {
        Viewer v = viewer(cookie);
        JsonNode list =
                backend.registry(
                        "GET",
                        "/api/v1/agents?limit=1000"
                                + (v.admin() ? "" : "&namespace=" + enc(v.tenant())));
        List<Map<String, Object>> out = new ArrayList<>();
        Instant now = Instant.now();
        for (JsonNode a : list) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", a.path("name").asText());
            m.put("kind", a.path("kind").asText());
            m.put("namespace", a.path("namespace").asText());
            m.put("pod", a.path("podName").asText(""));
            m.put("status", a.path("status").asText());
            String last = a.path("lastHeartbeatAt").asText(null);
            m.put("age", last == null ? "—" : duration(last, now.toString()));
            out.add(m);
        }
        return agents.data("viewer", v).data("page", "agents").data("agents", out);
    }

    @GET
    @Path("providers")
    public TemplateInstance providersPage(@CookieParam(Sessions.COOKIE) String cookie) {
        Viewer v = viewer(cookie);
        JsonNode health = backend.gateway("GET", "/admin/v1/providers/health", null);
        List<Map<String, Object>> out = new ArrayList<>();
        health.fields()
                .forEachRemaining(
                        e -> out.add(Map.of("target", e.getKey(), "state", e.getValue().asText())));
        return providers.data("viewer", v).data("page", "providers").data("targets", out);
    }

    // ---- helpers ----

    private Viewer viewer(String cookie) {
        Viewer v = sessions.read(cookie);
        if (v == null) {
            throw new SignIn();
        }
        return v;
    }

    /** No valid session: the page answers a redirect to the sign-in page. */
    public static final class SignIn extends RuntimeException {
        SignIn() {
            super(null, null, false, false);
        }
    }

    static String usd(double v) {
        return "$"
                + java.math.BigDecimal.valueOf(v)
                        .setScale(6, java.math.RoundingMode.HALF_UP)
                        .toPlainString();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A short text of a JSON value (an output), at most 300 characters; escaped by Qute. */
    private static String preview(JsonNode v) {
        if (v == null || v.isMissingNode() || v.isNull()) {
            return null;
        }
        String text = v.isTextual() ? v.asText() : v.toString();
        return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    }

    private static String duration(String from, String to) {
        if (from == null || to == null) {
            return "";
        }
        Duration d = Duration.between(Instant.parse(from), Instant.parse(to));
        long ms = d.toMillis();
        return ms < 1000
                ? ms + " ms"
                : ms < 60_000
                        ? String.format("%.1f s", ms / 1000.0)
                        : d.toMinutes() + " min " + d.toSecondsPart() + " s";
    }
}
