package io.flotilla.registry.error;

import io.flotilla.common.problem.Problem;
import io.flotilla.common.problem.ProblemMapper;
import io.flotilla.registry.config.RegistryConfig;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.Optional;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/** Refuses oversized bodies before they are read, with a problem document that names the limit. */
public class BodyLimitFilter {

    private final RegistryConfig config;

    BodyLimitFilter(RegistryConfig config) {
        this.config = config;
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
        if (bytes <= config.maxBodyBytes()) {
            return Optional.empty();
        }
        Problem p =
                Problem.of(
                        413,
                        "Request body too large",
                        "the body has "
                                + bytes
                                + " bytes; the registry accepts at most "
                                + config.maxBodyBytes()
                                + " (trim metadata and capabilities)");
        return Optional.of(ProblemMapper.respond(p));
    }
}
