package io.flotilla.common.problem;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Refuses a body larger than {@code flotilla.max-body-bytes} from its Content-Length, before it is
 * read, with a problem document that names the limit. (Quarkus' {@code
 * quarkus.http.limits.max-body-size} stays the backstop for bodies sent without a length.)
 */
public class BodyLimit {

    private final long maxBodyBytes;

    BodyLimit(
            @ConfigProperty(name = "flotilla.max-body-bytes", defaultValue = "1048576")
                    long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @ServerRequestFilter(preMatching = true)
    public Optional<RestResponse<Problem>> limit(ContainerRequestContext request) {
        String length = request.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        if (length == null) {
            return Optional.empty();
        }
        long bytes;
        try {
            bytes = Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (bytes <= maxBodyBytes) {
            return Optional.empty();
        }
        return Optional.of(
                ProblemMapper.respond(
                        Problem.of(
                                413,
                                "Request body too large",
                                "the body has "
                                        + bytes
                                        + " bytes; this service accepts at most "
                                        + maxBodyBytes
                                        + " (flotilla.max-body-bytes)")));
    }
}
