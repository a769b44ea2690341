package io.flotilla.common.problem;

import java.util.List;

/**
 * Thrown by service code to answer with a {@link Problem}; each service maps it to its HTTP
 * response in one place.
 */
public class ProblemException extends RuntimeException {

    private final transient Problem problem;

    public ProblemException(Problem problem) {
        super(problem.detail(), null, false, false);
        this.problem = problem;
    }

    public ProblemException(int status, String title, String detail) {
        this(Problem.of(status, title, detail));
    }

    /** A 400 that lists every invalid field. */
    public static ProblemException invalid(List<Problem.FieldError> errors) {
        String detail =
                errors.size() == 1
                        ? errors.get(0).field() + ": " + errors.get(0).message()
                        : errors.size() + " fields are invalid; see errors";
        return new ProblemException(
                new Problem("about:blank", "Invalid request", 400, detail, errors));
    }

    public Problem problem() {
        return problem;
    }
}
