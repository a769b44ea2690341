package io.flotilla.executor.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.executor.ExecutorConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;

/**
 * Opens a run's budget scope {@code run:<id>} in the gateway, whose reservations then hold every
 * LLM call of the run to it (and, for a child run, to its {@code parent}'s scope as well). The
 * executor's virtual key does it (a key created with {@code runScopes}); the executor holds no
 * admin credential of the gateway.
 */
@ApplicationScoped
public class GatewayBudgets {

    private final ExecutorConfig config;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final ObjectMapper json;

    GatewayBudgets(ExecutorConfig config, ObjectMapper json) {
        this.json = json;
        this.config = config;
    }

    void open(UUID runId, JsonNode budget) {
        String token = config.gateway().apiKey();
        var body = json.createObjectNode().put("tenant", config.gateway().tenant());
        if (budget.hasNonNull("maxTokens")) {
            body.put("maxTokens", budget.get("maxTokens").asLong());
        }
        if (budget.hasNonNull("maxCostUsd")) {
            body.put("maxCostUsd", budget.get("maxCostUsd").asDouble());
        }
        if (budget.hasNonNull("parent")) {
            body.put("parent", budget.get("parent").asText());
        }
        HttpRequest request =
                HttpRequest.newBuilder(
                                URI.create(
                                        config.gateway().url().replaceAll("/+$", "")
                                                + "/admin/v1/scopes/run:"
                                                + runId))
                        .timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofString(body.toString()))
                        .build();
        try {
            HttpResponse<String> response =
                    http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new ProblemException(
                        502,
                        "Budget refused by the gateway",
                        "the gateway answered "
                                + response.statusCode()
                                + " when opening the run's budget: "
                                + abbreviate(response.body())
                                + " (nothing was stored)");
            }
        } catch (IOException e) {
            throw new ProblemException(
                    503,
                    "Gateway unavailable",
                    "could not open the run's budget in the gateway at "
                            + config.gateway().url()
                            + " ("
                            + e.getClass().getSimpleName()
                            + "); nothing was stored, try again");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(
                    503,
                    "Interrupted",
                    "interrupted while opening the run's budget; nothing was stored");
        }
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
