package io.flotilla.console;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.ws.rs.CookieParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import java.net.http.HttpResponse;
import java.util.stream.Stream;

/**
 * A run's live updates for its page: the console follows the executor's event stream of the run and
 * sends the browser one {@code change} event per run event (naming its type), on which the page
 * reloads its steps fragment. The browser never holds a credential of the executor.
 */
@Path("/runs/{id}/events")
public class Events {

    private final Backend backend;
    private final Sessions sessions;

    Events(Backend backend, Sessions sessions) {
        this.backend = backend;
        this.sessions = sessions;
    }

    @GET
    @Produces(MediaType.SERVER_SENT_EVENTS)
    public Multi<OutboundSseEvent> follow(
            @CookieParam(Sessions.COOKIE) String cookie,
            @PathParam("id") String id,
            @Context Sse sse) {
        Viewer v = sessions.read(cookie);
        if (v == null) {
            throw new NotFoundException();
        }
        return Multi.createFrom()
                .<OutboundSseEvent>emitter(
                        out -> {
                            try {
                                backend.visibleRun(v, id);
                            } catch (RuntimeException e) {
                                out.fail(e);
                                return;
                            }
                            HttpResponse<Stream<String>> events = backend.runEvents(id);
                            try (Stream<String> lines = events.body()) {
                                out.onTermination(lines::close);
                                lines.filter(l -> l.startsWith("data:"))
                                        .takeWhile(l -> !out.isCancelled())
                                        .forEach(
                                                l ->
                                                        out.emit(
                                                                sse.newEventBuilder()
                                                                        .name("change")
                                                                        .data("update")
                                                                        .build()));
                                // the executor's stream ends with the run: one last reload, then
                                // stop
                                out.emit(sse.newEventBuilder().name("end").data("ended").build());
                                out.complete();
                            } catch (RuntimeException e) {
                                if (!out.isCancelled()) { // a browser that left closed the stream
                                    out.fail(e);
                                }
                            }
                        })
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }
}
