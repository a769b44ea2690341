package io.flotilla.executor;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.testsupport.ServiceSmokeTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class ExecutorSmokeTest extends ServiceSmokeTest {

    @Override
    protected String schema() {
        return "executor";
    }
}
