package io.flotilla.testsupport;

/**
 * For the local run script: finds PostgreSQL as the tests do (the local server, else an embedded
 * one), makes sure the named database exists, prints {@code READY <host> <port> <user> <database>}
 * and, when it started an embedded server, keeps it running until killed.
 */
public final class LocalDatabase {

    private LocalDatabase() {}

    public static void main(String[] args) throws InterruptedException {
        String database = args.length > 0 ? args[0] : "flotilla";
        TestPostgres pg = TestPostgres.server();
        pg.ensureDatabase(database);
        System.out.println(
                "READY " + pg.host() + " " + pg.port() + " " + pg.user() + " " + database);
        System.out.flush();
        if (pg.origin().startsWith("embedded")) {
            Thread.currentThread().join();
        }
    }
}
