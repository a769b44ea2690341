package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.route.Target;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

/**
 * A provider speaks its own wire format to its API and OpenAI's to the gateway: requests come in as
 * OpenAI chat-completion bodies, answers go out as OpenAI completion objects and stream chunks.
 * Failures are {@link UpstreamFailure}s.
 */
public sealed interface Provider
        permits OpenAiProvider, AnthropicProvider, GeminiProvider, MockProvider {

    /** A non-streaming completion. */
    Uni<ObjectNode> complete(Target target, ObjectNode request);

    /**
     * A streamed completion: the Uni resolves once the upstream accepted the call; the Multi then
     * carries OpenAI {@code chat.completion.chunk} objects (the last one with {@code usage} when
     * the upstream reported it) and fails with an {@link UpstreamFailure} if the stream breaks
     * before its proper end.
     */
    Uni<Multi<ObjectNode>> stream(Target target, ObjectNode request);

    /** Embeddings in OpenAI's format; providers without them refuse. */
    default Uni<ObjectNode> embed(Target target, ObjectNode request) {
        return Uni.createFrom()
                .failure(
                        new UpstreamFailure(
                                UpstreamFailure.Kind.REJECTED,
                                400,
                                null,
                                "provider '"
                                        + target.provider()
                                        + "' has no embeddings; route this alias to an openai or mock target"));
    }
}
