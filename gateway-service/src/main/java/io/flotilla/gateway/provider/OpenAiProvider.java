package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.openai.OpenAiShapes;
import io.flotilla.gateway.openai.Sse;
import io.flotilla.gateway.route.Target;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * OpenAI and every OpenAI-compatible server (vLLM, Ollama's /v1, LM Studio): the body passes
 * through, its fields limited to the allow-list of {@link OpenAiShapes}.
 */
@Singleton
public final class OpenAiProvider implements Provider {

    private final Upstream upstream;

    OpenAiProvider(Upstream upstream) {
        this.upstream = upstream;
    }

    @Override
    public Uni<ObjectNode> complete(Target target, ObjectNode request) {
        ObjectNode body = OpenAiShapes.allowed(request, OpenAiShapes.CHAT_FIELDS);
        body.put("model", target.model());
        body.remove("stream");
        body.remove("stream_options");
        return upstream.post(
                        target.baseUrl() + "/chat/completions",
                        headers(target),
                        body,
                        target.timeout())
                .map(json -> (ObjectNode) json);
    }

    @Override
    public Uni<Multi<ObjectNode>> stream(Target target, ObjectNode request) {
        ObjectNode body = OpenAiShapes.allowed(request, OpenAiShapes.CHAT_FIELDS);
        body.put("model", target.model());
        body.put("stream", true);
        // always ask for usage: the gateway needs it even when the caller did not ask for it
        body.putObject("stream_options").put("include_usage", true);
        return upstream.stream(
                        target.baseUrl() + "/chat/completions",
                        headers(target),
                        body,
                        target.timeout())
                .map(events -> ChunkStream.of(events, Translator::new));
    }

    @Override
    public Uni<ObjectNode> embed(Target target, ObjectNode request) {
        ObjectNode body = OpenAiShapes.allowed(request, OpenAiShapes.EMBEDDING_FIELDS);
        body.put("model", target.model());
        return upstream.post(
                        target.baseUrl() + "/embeddings", headers(target), body, target.timeout())
                .map(json -> (ObjectNode) json);
    }

    private static Map<String, String> headers(Target target) {
        return target.apiKey() == null
                ? Map.of()
                : Map.of("Authorization", "Bearer " + target.apiKey());
    }

    /** OpenAI's own stream: chunks as they are, ended by {@code [DONE]}. */
    private final class Translator implements ChunkStream.Translator {
        private boolean done;

        @Override
        public List<ObjectNode> onEvent(Sse.Event event) {
            if ("[DONE]".equals(event.data().trim())) {
                done = true;
                return List.of();
            }
            ObjectNode chunk;
            try {
                chunk = (ObjectNode) upstream.json().readTree(event.data());
            } catch (IOException e) {
                throw new UpstreamFailure(
                        UpstreamFailure.Kind.SERVER_ERROR,
                        "the upstream sent a chunk that is not JSON");
            }
            if (chunk.has("error")) {
                throw new UpstreamFailure(
                        UpstreamFailure.Kind.SERVER_ERROR,
                        0,
                        null,
                        "the upstream reported an error mid-stream: "
                                + chunk.path("error").path("message").asText("unknown"));
            }
            return List.of(chunk);
        }

        @Override
        public boolean finished() {
            return done;
        }
    }
}
