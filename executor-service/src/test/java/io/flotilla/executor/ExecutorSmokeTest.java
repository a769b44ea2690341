package io.flotilla.executor;

import io.flotilla.testsupport.PostgresResource;
import io.flotilla.testsupport.ServiceSmokeTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class ExecutorSmokeTest extends ServiceSmokeTest {

    @Override
    protected String schema() {
        return "executor";
    }
}
