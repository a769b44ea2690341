package io.flotilla.console;

/**
 * Who is signed in: the admin (every tenant), or a tenant through one of its virtual keys. A tenant
 * sees its own spend and scopes, and the runs, workflows and agents of the Kubernetes namespace
 * named like it.
 */
public record Viewer(boolean admin, String tenant) {

    /**
     * Whether the viewer may see what belongs to {@code owner} (a tenant, or the namespace named
     * like it): the admin sees all, a tenant its own. The console's one visibility rule.
     */
    public boolean sees(String owner) {
        return admin || tenant.equals(owner);
    }

    public String name() {
        return admin ? "admin" : "tenant " + tenant;
    }
}
