package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.openai.Sse;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.Cancellable;
import java.util.List;

/**
 * Turns a provider's SSE events into OpenAI chunks, failing when the stream ends before its proper
 * end.
 */
final class ChunkStream {

    /** Per-stream translation state of one provider. */
    interface Translator {
        /** The OpenAI chunks for one upstream event (possibly none). */
        List<ObjectNode> onEvent(Sse.Event event);

        /** Whether the upstream has signalled its proper end. */
        boolean finished();
    }

    private ChunkStream() {}

    static Multi<ObjectNode> of(
            Multi<Sse.Event> events, java.util.function.Supplier<Translator> translators) {
        return Multi.createFrom()
                .emitter(
                        emitter -> {
                            Translator translator = translators.get();
                            Cancellable upstream =
                                    events.subscribe()
                                            .with(
                                                    event -> {
                                                        if (translator.finished()) {
                                                            return;
                                                        }
                                                        try {
                                                            translator
                                                                    .onEvent(event)
                                                                    .forEach(emitter::emit);
                                                            if (translator.finished()) {
                                                                emitter.complete();
                                                            }
                                                        } catch (UpstreamFailure f) {
                                                            emitter.fail(f);
                                                        } catch (RuntimeException e) {
                                                            emitter.fail(
                                                                    new UpstreamFailure(
                                                                            UpstreamFailure.Kind
                                                                                    .SERVER_ERROR,
                                                                            "the upstream sent an event that cannot be read: "
                                                                                    + e.getClass()
                                                                                            .getSimpleName()));
                                                        }
                                                    },
                                                    emitter::fail,
                                                    () -> {
                                                        if (!translator.finished()) {
                                                            emitter.fail(
                                                                    new UpstreamFailure(
                                                                            UpstreamFailure.Kind
                                                                                    .CONNECTION,
                                                                            "the upstream stream ended before its final event"));
                                                        }
                                                    });
                            emitter.onTermination(upstream::cancel);
                        });
    }
}
