package io.flotilla.common.problem;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.vertx.http.runtime.RouteConstants;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Checks every request before anything reads it: a body larger than {@code flotilla.max-body-bytes}
 * (from its Content-Length; before Quarkus' own limit, which stays the backstop for bodies sent
 * without a length) is refused with 413, a request line holding an encoded NUL ({@code %00}, which
 * no name, id or filter may contain and Postgres cannot store) with 400, both as problem documents.
 * A service may check its body size itself, earlier, for paths with another error format (the
 * gateway's {@code /v1}, whose limit its {@code flotilla.max-body-bytes} then matches).
 */
@ApplicationScoped
public class RequestLimits {

    /** Where this check runs: just before Quarkus' upload limit. */
    public static final int ORDER = RouteConstants.ROUTE_ORDER_UPLOAD_LIMIT - 1;

    private final long maxBodyBytes;
    private final ObjectMapper json;

    RequestLimits(
            @ConfigProperty(name = "flotilla.max-body-bytes", defaultValue = "1048576")
                    long maxBodyBytes,
            ObjectMapper json) {
        this.maxBodyBytes = maxBodyBytes;
        this.json = json;
    }

    void install(@Observes Router router) {
        router.route()
                .order(ORDER)
                .handler(
                        ctx -> {
                            if (ctx.request().uri().contains("%00")) {
                                refuse(
                                        ctx,
                                        Problem.of(
                                                400,
                                                "Invalid request",
                                                "the path or query holds a NUL character (%00); no name, id or filter may contain one"));
                                return;
                            }
                            long bytes = contentLength(ctx.request().getHeader("Content-Length"));
                            if (bytes <= maxBodyBytes) {
                                ctx.next();
                                return;
                            }
                            refuse(
                                    ctx,
                                    Problem.of(
                                            413,
                                            "Request body too large",
                                            "the body has "
                                                    + bytes
                                                    + " bytes; this service accepts at most "
                                                    + maxBodyBytes
                                                    + " (flotilla.max-body-bytes)"));
                        });
    }

    private void refuse(io.vertx.ext.web.RoutingContext ctx, Problem p) {
        try {
            ctx.response()
                    .setStatusCode(p.status())
                    .putHeader("Content-Type", Problem.MEDIA_TYPE)
                    .putHeader("Connection", "close")
                    .end(json.writeValueAsString(p));
        } catch (JsonProcessingException e) {
            ctx.fail(p.status(), e);
        }
    }

    /** The Content-Length header's value; -1 when there is none or it is not a number. */
    public static long contentLength(String header) {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
