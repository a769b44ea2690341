package io.flotilla.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.inject.Singleton;
import jakarta.ws.rs.NotFoundException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Calls the gateway, executor and registry APIs with the console's own credentials. A failure
 * becomes a {@link Failed} whose message says which service answered what (its problem detail),
 * never a credential.
 */
@Singleton
public class Backend {

    /** A call that did not answer 2xx. */
    public static final class Failed extends RuntimeException {
        public final int status;

        Failed(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private final ConsoleConfig config;
    private final ObjectMapper json;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    Backend(ConsoleConfig config, ObjectMapper json) {
        this.config = config;
        this.json = json;
    }

    public JsonNode gateway(String method, String path, String body) {
        return call("gateway", config.gateway(), method, path, body, null);
    }

    /** Several GETs of the gateway at once (the spend page's totals); their answers in order. */
    public List<JsonNode> gatewayGets(List<String> paths) {
        List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
        for (String path : paths) {
            calls.add(CompletableFuture.supplyAsync(() -> gateway("GET", path, null), PARALLEL));
        }
        List<JsonNode> out = new ArrayList<>();
        for (CompletableFuture<JsonNode> c : calls) {
            try {
                out.add(c.join());
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        return out;
    }

    /** Threads for {@link #gatewayGets}: each waits on one HTTP answer. */
    private static final ExecutorService PARALLEL =
            Executors.newCachedThreadPool(
                    r -> {
                        Thread t = new Thread(r, "console-backend");
                        t.setDaemon(true);
                        return t;
                    });

    public JsonNode executor(String method, String path, String body) {
        return call("executor", config.executor(), method, path, body, null);
    }

    public JsonNode registry(String method, String path) {
        return call("registry", config.registry(), method, path, null, null);
    }

    /** Who a token is to the gateway ({@code /api/v1/usage/me}), or null when it is neither. */
    public JsonNode whoIs(String token) {
        try {
            return call("gateway", config.gateway(), "GET", "/api/v1/usage/me", null, token);
        } catch (Failed f) {
            if (f.status == 401 || f.status == 403) {
                return null;
            }
            throw f;
        }
    }

    /**
     * The run, if the viewer may see it (a tenant: the runs of its namespace); a 404 otherwise, as
     * if another tenant's run did not exist.
     */
    public JsonNode visibleRun(Viewer v, String id) {
        if (!id.matches("[0-9a-f-]{36}")) {
            throw new NotFoundException();
        }
        JsonNode r;
        try {
            r = executor("GET", "/api/v1/runs/" + id, null);
        } catch (Failed f) {
            if (f.status == 404) {
                throw new NotFoundException();
            }
            throw f;
        }
        String workflow = r.path("workflow").asText(); // <namespace>/<name>
        if (!v.sees(workflow.substring(0, Math.max(workflow.indexOf('/'), 0)))) {
            throw new NotFoundException();
        }
        return r;
    }

    /** The executor's event stream of a run (server-sent events), as lines. */
    public HttpResponse<java.util.stream.Stream<String>> runEvents(String runId) {
        HttpRequest request =
                HttpRequest.newBuilder(
                                URI.create(
                                        base(config.executor())
                                                + "/api/v1/runs/"
                                                + runId
                                                + "/events"))
                        .header("Authorization", "Bearer " + config.executor().adminToken())
                        .header("Accept", "text/event-stream")
                        .GET()
                        .build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            throw new Failed(503, "the executor did not answer");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failed(503, "interrupted");
        }
    }

    private JsonNode call(
            String name,
            ConsoleConfig.Service service,
            String method,
            String path,
            String body,
            String token) {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(base(service) + path))
                        .timeout(Duration.ofSeconds(10))
                        .header(
                                "Authorization",
                                "Bearer " + (token != null ? token : service.adminToken()))
                        .header("Accept", "application/json");
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(
                method,
                body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> response;
        try {
            response = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Failed(503, "the " + name + " did not answer at " + base(service));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failed(503, "interrupted");
        }
        JsonNode answer;
        try {
            answer = response.body().isEmpty() ? json.nullNode() : json.readTree(response.body());
        } catch (IOException e) {
            answer = json.nullNode();
        }
        if (response.statusCode() / 100 != 2) {
            String detail =
                    answer.path("detail").asText(answer.path("error").path("message").asText(""));
            throw new Failed(
                    response.statusCode(),
                    "the "
                            + name
                            + " answered "
                            + response.statusCode()
                            + (detail.isEmpty() ? "" : ": " + detail));
        }
        return answer;
    }

    private static String base(ConsoleConfig.Service service) {
        return service.url().replaceAll("/+$", "");
    }
}
