package io.flotilla.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * JSON calls to services under test (the ones started as processes, or a test's own), with an
 * optional bearer token.
 */
public final class HttpCalls {

    private static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpCalls() {}

    /** What a call answered. */
    public record Answer(int status, String body, HttpHeaders headers) {

        /** This answer, after checking its status (the body is in the failure message). */
        public Answer expect(int expected) {
            if (status != expected) {
                throw new AssertionError(
                        "expected " + expected + " but got " + status + ": " + body);
            }
            return this;
        }

        public JsonNode json() {
            try {
                return body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * {@code method url} with a JSON body (or none) and {@code Authorization: Bearer <bearer>} when
     * given.
     */
    public static Answer call(String method, String url, String bearer, String body)
            throws IOException, InterruptedException {
        return call(method, url, bearer, body, java.util.Map.of());
    }

    /** {@link #call(String, String, String, String)} with more request headers. */
    public static Answer call(
            String method,
            String url,
            String bearer,
            String body,
            java.util.Map<String, String> headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body));
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        headers.forEach(b::header);
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body(), r.headers());
    }
}
