package io.flotilla.gateway;

import io.flotilla.testsupport.PostgresResource;
import io.flotilla.testsupport.ServiceSmokeTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class GatewaySmokeTest extends ServiceSmokeTest {

    @Override
    protected String schema() {
        return "gateway";
    }
}
