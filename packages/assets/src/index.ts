/** The Asset: its document, its status machine, its store (one interface, an adapter per dialect), its cursor and its wire serialisation. */

export * from "./cursor.ts";
export * from "./migrations.ts";
export * from "./model.ts";
export * from "./response.ts";
export * from "./state-machine.ts";
export * from "./store.ts";
