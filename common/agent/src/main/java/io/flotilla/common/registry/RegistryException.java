package io.flotilla.common.registry;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A registry call failed: unreachable, or answered with an error (its problem detail in the
 * message).
 */
public class RegistryException extends RuntimeException {

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
    }

    public RegistryException(String message) {
        super(message);
    }

    static RegistryException of(String operation, int status, String body) {
        String detail;
        try {
            JsonNode problem = RegistryClient.JSON.readTree(body);
            detail = problem.path("detail").asText(body);
        } catch (Exception e) {
            detail = body;
        }
        return new RegistryException(operation + " failed with HTTP " + status + ": " + detail);
    }
}
