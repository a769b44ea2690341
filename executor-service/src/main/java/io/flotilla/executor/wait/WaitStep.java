package io.flotilla.executor.wait;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.time.Durations;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.StepKind;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * A durable timer. Its deadline is the step's first start plus {@code duration}, or the rendered
 * {@code until}; each execution compares it with the clock: past, the step succeeds with {@code
 * {"waitedUntil": <time>}}; not yet, the step is handed back until then (no thread, no lease, no
 * connection held, and any executor may pick it up). The deadline is computed, never stored, so a
 * restart or a reclaim changes nothing.
 */
@Singleton
public class WaitStep implements StepKind {

    @Override
    public WorkflowSpec.Kind kind() {
        return WorkflowSpec.Kind.WAIT;
    }

    @Override
    public Outcome run(Execution e) {
        WorkflowSpec.Wait wait = e.step().timer();
        Instant deadline;
        if (wait.duration() != null) {
            deadline = e.claim().startedAt().plus(Durations.parse(wait.duration()));
        } else {
            String at = "steps." + e.step().id() + ".wait.until";
            String text;
            try {
                text = Expressions.render(wait.until(), e.scope()).trim();
            } catch (Expressions.EvaluationException x) {
                return new Outcome.Failed(FailureKind.FATAL, at + ": " + x.getMessage(), 0, 0);
            }
            try {
                deadline = OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException x) {
                return new Outcome.Failed(
                        FailureKind.FATAL,
                        at
                                + ": '"
                                + abbreviate(text)
                                + "' is not an RFC 3339 time such as 2026-12-24T09:00:00Z",
                        0,
                        0);
            }
        }
        if (Instant.now().isBefore(deadline)) {
            return new Outcome.Waiting(deadline);
        }
        return new Outcome.Succeeded(
                JsonNodeFactory.instance.objectNode().put("waitedUntil", deadline.toString()),
                0,
                0);
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }
}
