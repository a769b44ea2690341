package io.flotilla.common.problem;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * The one place where failures of a service's Quarkus REST endpoints become RFC 9457 problem
 * documents; never a class name or stack trace. Quarkus finds it in every service that depends on
 * this module (the jar is a bean archive); plain agent processes never load it.
 */
public class ProblemMapper {

    private static final Logger LOG = Logger.getLogger(ProblemMapper.class);

    @ServerExceptionMapper
    public RestResponse<Problem> problem(ProblemException e) {
        return respond(e.problem());
    }

    @ServerExceptionMapper
    public RestResponse<Problem> unreadableJson(JsonProcessingException e) {
        return respond(Problem.of(400, "Malformed request body", describe(e)));
    }

    /** More specific than the mapper Quarkus ships for this type, so it wins over it. */
    @ServerExceptionMapper
    public RestResponse<Problem> mismatchedJson(MismatchedInputException e) {
        return unreadableJson(e);
    }

    @ServerExceptionMapper
    public RestResponse<Problem> web(WebApplicationException e) {
        Response.StatusType status = e.getResponse().getStatusInfo();
        if (e.getCause() instanceof JsonProcessingException json) {
            return unreadableJson(json);
        }
        String detail =
                switch (status.getStatusCode()) {
                    case 404 -> "no such endpoint; see /q/openapi for the API";
                    case 405 -> "this endpoint does not accept that method; see /q/openapi";
                    case 415 -> "send the body as JSON with 'Content-Type: application/json'";
                    case 406 -> "this API answers application/json";
                    default -> status.getReasonPhrase();
                };
        return respond(Problem.of(status.getStatusCode(), status.getReasonPhrase(), detail));
    }

    @ServerExceptionMapper
    public RestResponse<Problem> unexpected(Throwable e) {
        String ref = UUID.randomUUID().toString();
        LOG.errorf(e, "unexpected failure, reference %s", ref);
        return respond(
                Problem.of(
                        500,
                        "Internal error",
                        "the service failed unexpectedly; report reference "
                                + ref
                                + " (its logs carry the cause)"));
    }

    /** The response carrying a problem document. */
    public static RestResponse<Problem> respond(Problem p) {
        return RestResponse.ResponseBuilder.<Problem>create(p.status())
                .entity(p)
                .type(Problem.MEDIA_TYPE)
                .build();
    }

    private static String describe(JsonProcessingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            String known =
                    u.getKnownPropertyIds() == null
                            ? ""
                            : u.getKnownPropertyIds().stream()
                                    .map(String::valueOf)
                                    .sorted()
                                    .collect(Collectors.joining(", "));
            return "unknown field '"
                    + u.getPropertyName()
                    + "'"
                    + (known.isEmpty() ? "" : "; known fields: " + known);
        }
        if (e instanceof InvalidFormatException f) {
            return "field '"
                    + path(f)
                    + "' has a value of the wrong type; expected "
                    + f.getTargetType().getSimpleName().toLowerCase();
        }
        if (e instanceof MismatchedInputException m && !m.getPath().isEmpty()) {
            return "field '"
                    + path(m)
                    + "' has the wrong shape; expected "
                    + (m.getTargetType() == null
                            ? "another type"
                            : m.getTargetType().getSimpleName().toLowerCase());
        }
        return "the body is not valid JSON (line "
                + (e.getLocation() == null ? "?" : e.getLocation().getLineNr())
                + ", column "
                + (e.getLocation() == null ? "?" : e.getLocation().getColumnNr())
                + "); send a JSON object";
    }

    private static String path(MismatchedInputException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
    }
}
