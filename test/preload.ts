/**
 * Preloaded once for the whole test run. It starts nothing (end-to-end tests
 * start the servers they share on first use, so unit tests need none); it
 * only stops, after the last test file, what they started: a private
 * redis-server when none answered at REDIS_URL, and the embedded database.
 */
import { afterAll } from "bun:test";
import { stopSharedServers } from "./helpers/shared-servers.ts";

afterAll(stopSharedServers);
