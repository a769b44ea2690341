package io.flotilla.gateway.route;

import java.util.List;

/** A model alias as clients name it: ordered targets, or an auto rule over two other aliases. */
public record Route(String alias, List<Target> targets, Routes.AutoSpec auto) {

    public boolean isAuto() {
        return auto != null;
    }

    /** Whether every target is the offline mock provider (labelled as such in /v1/models). */
    public boolean mockOnly() {
        return !isAuto() && targets.stream().allMatch(t -> t.kind() == Target.ProviderKind.MOCK);
    }
}
