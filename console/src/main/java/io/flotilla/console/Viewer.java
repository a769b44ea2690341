package io.flotilla.console;

/**
 * Who is signed in: the admin (every tenant), or a tenant through one of its virtual keys. A tenant
 * sees its own spend and scopes, and the runs, workflows and agents of the Kubernetes namespace
 * named like it.
 */
public record Viewer(boolean admin, String tenant) {

    /** The namespace whose runs the viewer sees; null: all. */
    public String namespace() {
        return admin ? null : tenant;
    }

    public String name() {
        return admin ? "admin" : "tenant " + tenant;
    }
}
