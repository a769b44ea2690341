package io.flotilla.console;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Failures as pages: no session → the sign-in page; a service's refusal → its message, escaped. */
public class Errors {

    @ServerExceptionMapper
    public Response signIn(Pages.SignIn e) {
        return Response.seeOther(URI.create("/login")).build();
    }

    @ServerExceptionMapper
    public Response failed(Backend.Failed e) {
        int status = e.status == 404 ? 404 : e.status >= 500 ? 502 : e.status;
        return Response.status(status)
                .type(MediaType.TEXT_PLAIN_TYPE.withCharset("UTF-8"))
                .entity(e.getMessage())
                .build();
    }
}
