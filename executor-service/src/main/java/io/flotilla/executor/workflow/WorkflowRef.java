package io.flotilla.executor.workflow;

import java.util.regex.Pattern;

/**
 * A workflow's name: a namespace (a DNS label) and a name (a DNS subdomain), written {@code
 * namespace/name}.
 */
public record WorkflowRef(String namespace, String name) {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    /** What to write instead, for error messages. */
    public static final String RULE =
            "namespace must be a DNS label and name a DNS subdomain (lower-case letters, digits, '-', '.')";

    public boolean valid() {
        return namespace != null
                && name != null
                && LABEL.matcher(namespace).matches()
                && SUBDOMAIN.matcher(name).matches();
    }

    /**
     * {@code namespace/name}, or {@code name} in namespace {@code default}; null when it is
     * neither.
     */
    public static WorkflowRef parse(String text) {
        if (text == null) {
            return null;
        }
        int slash = text.indexOf('/');
        WorkflowRef ref =
                slash < 0
                        ? new WorkflowRef("default", text)
                        : new WorkflowRef(text.substring(0, slash), text.substring(slash + 1));
        return ref.valid() ? ref : null;
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
