package io.flotilla.gateway.hostile;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The gateway on a database of its own: only the test changes rows. */
public class Quiet implements QuarkusTestProfile {}
