package io.flotilla.common.problem;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * An RFC 9457 problem document, the error body of every Flotilla API outside the gateway's
 * OpenAI-compatible {@code /v1}. {@code errors} lists each invalid field of a request at once, so a
 * caller fixes everything in one round.
 *
 * @param type a URI naming the kind of problem ({@code about:blank} when only the status matters)
 * @param title a short, fixed summary of the kind of problem
 * @param status the HTTP status code
 * @param detail what went wrong in this request and what to do about it
 * @param errors the individual field problems, empty when the problem is not about fields
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Problem(
        String type, String title, int status, String detail, List<FieldError> errors) {

    /** Media type of a problem document. */
    public static final String MEDIA_TYPE = "application/problem+json";

    public Problem {
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    /** A problem without field errors. */
    public static Problem of(int status, String title, String detail) {
        return new Problem("about:blank", title, status, detail, List.of());
    }

    /**
     * One invalid field.
     *
     * @param field the path of the field in the request, e.g. {@code metadata.team}
     * @param message what is wrong with it and what would be accepted
     */
    public record FieldError(String field, String message) {}
}
