package io.flotilla.common.registry;

/**
 * The registry no longer honours this identity (expired, replaced or deregistered): register again.
 */
public class RegistrationLostException extends RegistryException {

    public RegistrationLostException(String message) {
        super(message);
    }
}
