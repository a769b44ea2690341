package io.flotilla.common.workflow;

/**
 * The configurable limits a workflow is validated against (the executor's {@code
 * flotilla.executor.limits.*}); a JSON Schema's size and depth and a duration's range are fixed
 * (see {@link WorkflowValidator}).
 *
 * @param steps most steps in one workflow
 * @param loopIterations highest {@code loop.maxIterations} a step may ask for
 */
public record WorkflowLimits(int steps, int loopIterations) {

    /** The executor's defaults; the operator checks with them (the executor has the last word). */
    public static final WorkflowLimits DEFAULT = new WorkflowLimits(100, 100);
}
