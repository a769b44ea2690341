package io.flotilla.operator.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.operator.config.OperatorConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The executor's API as the operator uses it. */
@ApplicationScoped
public class ExecutorClient {

    private final ObjectMapper json;

    /** The executor could not be reached or failed (5xx): try again later. */
    public static class Unavailable extends RuntimeException {
        public Unavailable(String message) {
            super(message);
        }
    }

    /** The executor refused the request (4xx), with its problem detail and field errors. */
    public static class Rejected extends RuntimeException {
        public final int status;

        public Rejected(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private final String base;
    private final String authorization;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public ExecutorClient(OperatorConfig config, ObjectMapper json) {
        this.json = json;
        this.base = config.executorUrl().replaceAll("/+$", "");
        this.authorization = config.executorToken().map(t -> "Bearer " + t).orElse(null);
    }

    /** Publishes a spec; answers the executor's view ({@code revision}, {@code created}). */
    public JsonNode publish(String namespace, String name, JsonNode spec) {
        return send("PUT", "/api/v1/workflows/" + namespace + "/" + name, spec);
    }

    /** Removes a workflow; true when it was there. */
    public boolean delete(String namespace, String name) {
        try {
            send("DELETE", "/api/v1/workflows/" + namespace + "/" + name, null);
            return true;
        } catch (Rejected e) {
            if (e.status == 404) {
                return false;
            }
            throw e;
        }
    }

    /** Starts a run (idempotently, by key); answers {@code {id, status}}. */
    public JsonNode start(JsonNode request) {
        return send("POST", "/api/v1/runs", request);
    }

    public JsonNode run(String id) {
        return send("GET", "/api/v1/runs/" + id, null);
    }

    public void cancel(String id) {
        try {
            send("POST", "/api/v1/runs/" + id + "/cancel", null);
        } catch (Rejected e) {
            if (e.status != 409 && e.status != 404) { // already ended or gone: nothing to cancel
                throw e;
            }
        }
    }

    /**
     * A decision on an approval step ({@code item} -1 for the step itself); false when the step is
     * not awaiting approval (decided already, or not reached).
     */
    public boolean decide(
            String id, String step, int item, boolean approve, String by, String comment) {
        ObjectNode body = json.createObjectNode().put("by", by);
        if (comment != null) {
            body.put("comment", comment);
        }
        try {
            send(
                    "POST",
                    "/api/v1/runs/"
                            + id
                            + "/steps/"
                            + step
                            + (approve ? "/approve" : "/reject")
                            + (item < 0 ? "" : "?item=" + item),
                    body);
            return true;
        } catch (Rejected e) {
            if (e.status == 409) {
                return false;
            }
            throw e;
        }
    }

    private JsonNode send(String method, String path, JsonNode body) {
        HttpRequest.Builder builder =
                HttpRequest.newBuilder(URI.create(base + path))
                        .timeout(Duration.ofSeconds(15))
                        .header("Content-Type", "application/json")
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body.toString()));
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        HttpRequest request = builder.build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Unavailable(
                    "the executor at "
                            + base
                            + " cannot be reached ("
                            + e.getClass().getSimpleName()
                            + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while calling the executor");
        }
        if (response.statusCode() >= 500) {
            throw new Unavailable(
                    "the executor answered "
                            + response.statusCode()
                            + " to "
                            + method
                            + " "
                            + path);
        }
        JsonNode answer = parse(response.body());
        if (response.statusCode() >= 400) {
            throw new Rejected(response.statusCode(), problem(answer, response.statusCode()));
        }
        return answer;
    }

    /** A problem+json as one line: the detail, then each field error as "path: message". */
    private static String problem(JsonNode p, int status) {
        StringBuilder s =
                new StringBuilder(
                        p.path("detail")
                                .asText(p.path("title").asText("executor answered " + status)));
        for (JsonNode e : p.path("errors")) {
            s.append("; ")
                    .append(e.path("field").asText())
                    .append(": ")
                    .append(e.path("message").asText());
        }
        return s.toString();
    }

    private JsonNode parse(String body) {
        try {
            return body == null || body.isBlank() ? json.createObjectNode() : json.readTree(body);
        } catch (IOException e) {
            return json.createObjectNode()
                    .put("detail", body.length() > 200 ? body.substring(0, 200) : body);
        }
    }
}
