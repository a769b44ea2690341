package io.flotilla.gateway.governance;

import io.smallrye.mutiny.Uni;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Flat combining: while one call for a batch is in flight, later items wait; when it returns, all
 * that waited go in the next call. One outstanding call at a time, and batches grow with load.
 */
final class Combiner<T> {

    private static final int MAX_BATCH = 256;

    private final Function<List<T>, Uni<Void>> call;
    private final Runnable onIdle;
    private final ArrayDeque<T> pending = new ArrayDeque<>();
    private boolean busy;

    Combiner(Function<List<T>, Uni<Void>> call, Runnable onIdle) {
        this.call = call;
        this.onIdle = onIdle;
    }

    /** Whether nothing is waiting and no call is in flight. */
    synchronized boolean idle() {
        return !busy && pending.isEmpty();
    }

    void submit(T item) {
        synchronized (this) {
            pending.add(item);
            if (busy) {
                return;
            }
            busy = true;
        }
        drain();
    }

    private void drain() {
        List<T> batch = new ArrayList<>();
        synchronized (this) {
            while (batch.size() < MAX_BATCH && !pending.isEmpty()) {
                batch.add(pending.poll());
            }
            if (batch.isEmpty()) {
                busy = false;
                onIdle.run();
                return;
            }
        }
        call.apply(batch).subscribe().with(ok -> drain(), failure -> drain());
    }
}
