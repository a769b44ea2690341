package io.flotilla.executor.fake;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * An HTTP service that tools of the executor's tests call, on 127.0.0.1 only. What a path answers
 * is scripted by its first segment, which each test picks for itself; every request is recorded
 * with its headers and body.
 */
public final class FakeTool {

    /** One recorded request; header names are lower case. */
    public record Request(String method, String uri, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** An answer: status, content type, body, after a delay. */
    public record Reply(int status, String type, String body, long delayMillis, String location) {
        public static Reply json(String body) {
            return new Reply(200, "application/json", body, 0, null);
        }

        public static Reply status(int status, String body) {
            return new Reply(status, "text/plain", body, 0, null);
        }

        public static Reply redirect(String location) {
            return new Reply(302, "text/plain", "", 0, location);
        }

        public Reply after(long millis) {
            return new Reply(status, type, body, millis, location);
        }
    }

    private static final Map<String, Function<Request, Reply>> SCRIPTS = new ConcurrentHashMap<>();
    private static final List<Request> REQUESTS = new CopyOnWriteArrayList<>();
    private static volatile int port;

    private final Vertx vertx = Vertx.vertx();

    public int start() throws Exception {
        HttpServer server =
                vertx.createHttpServer()
                        .requestHandler(r -> r.body().onSuccess(b -> handle(r, b.toString())))
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        port = server.actualPort();
        return port;
    }

    public void stop() {
        vertx.close();
    }

    /** The base URL of the service: {@code http://127.0.0.1:<port>}. */
    public static String url() {
        return "http://127.0.0.1:" + port;
    }

    /** Requests to {@code /<segment>/...} answer what {@code script} says. */
    public static void script(String segment, Function<Request, Reply> script) {
        SCRIPTS.put(segment, script);
    }

    /** The requests to {@code /<segment>/...}, in order. */
    public static List<Request> requests(String segment) {
        return REQUESTS.stream().filter(r -> segment(r.uri()).equals(segment)).toList();
    }

    private static String segment(String uri) {
        String path = uri.startsWith("/") ? uri.substring(1) : uri;
        int end = path.indexOf('/');
        int query = path.indexOf('?');
        if (end < 0 || (query >= 0 && query < end)) {
            end = query;
        }
        return end < 0 ? path : path.substring(0, end);
    }

    private void handle(HttpServerRequest r, String body) {
        Map<String, String> headers = new TreeMap<>();
        r.headers().forEach(h -> headers.put(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
        Request request = new Request(r.method().name(), r.uri(), headers, body);
        REQUESTS.add(request);
        Function<Request, Reply> script = SCRIPTS.get(segment(r.uri()));
        Reply reply = script == null ? Reply.status(404, "no script") : script.apply(request);
        Runnable answer =
                () -> {
                    var response =
                            r.response()
                                    .setStatusCode(reply.status())
                                    .putHeader("Content-Type", reply.type());
                    if (reply.location() != null) {
                        response.putHeader("Location", reply.location());
                    }
                    response.end(reply.body());
                };
        if (reply.delayMillis() > 0) {
            vertx.setTimer(reply.delayMillis(), t -> answer.run());
        } else {
            answer.run();
        }
    }
}
