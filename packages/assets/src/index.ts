/** The Asset: its model, its status machine, its one repository and its wire serialisation. */
export * from "./model.ts";
export * from "./state-machine.ts";
export * from "./repository.ts";
export * from "./response.ts";
