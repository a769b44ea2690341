package io.flotilla.executor.approval;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.time.Durations;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.StepKind;
import io.flotilla.executor.store.DecisionStore;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import javax.sql.DataSource;

/**
 * A person's decision. The first execution finds none and hands the step back as awaiting approval
 * (no thread, lease or connection held; it survives any restart); a decision through the runs API
 * makes it ready, and the next execution answers the decision as the step's output: {@code
 * {"decision": "approved"|"rejected", "by", "comment", "decidedAt"}}. With a {@code timeout}, the
 * step is made ready when it passes and {@code onTimeout} decides ({@code by: "timeout"}). Both
 * decisions succeed: later steps branch on {@code steps.<id>.output.decision} with {@code when}.
 */
@Singleton
public class ApprovalStep implements StepKind {

    private final DataSource ds;
    private final DecisionStore decisions;

    ApprovalStep(DataSource ds, DecisionStore decisions) {
        this.ds = ds;
        this.decisions = decisions;
    }

    @Override
    public WorkflowSpec.Kind kind() {
        return WorkflowSpec.Kind.APPROVAL;
    }

    @Override
    public Outcome run(Execution e) {
        Claim claim = e.claim();
        DecisionStore.Decision d;
        try (Connection c = ds.getConnection()) {
            d = decisions.find(c, claim.runId(), claim.stepId(), claim.item());
        } catch (SQLException x) {
            throw new IllegalStateException("reading the decision failed: " + x.getMessage(), x);
        }
        if (d != null) {
            return decided(d.approved(), d.by(), d.comment(), d.at());
        }
        WorkflowSpec.Approval approval = e.step().approval();
        if (approval.timeout() == null) {
            return new Outcome.AwaitingDecision(null);
        }
        Instant timeout = claim.startedAt().plus(Durations.parse(approval.timeout()));
        if (Instant.now().isBefore(timeout)) {
            return new Outcome.AwaitingDecision(timeout);
        }
        return decided("approve".equals(approval.onTimeout()), "timeout", null, timeout);
    }

    private static Outcome decided(boolean approved, String by, String comment, Instant at) {
        ObjectNode output =
                JsonNodeFactory.instance
                        .objectNode()
                        .put("decision", approved ? "approved" : "rejected")
                        .put("by", by)
                        .put("decidedAt", at.toString());
        if (comment != null) {
            output.put("comment", comment);
        }
        return new Outcome.Succeeded(output, 0, 0);
    }
}
