/** The Asset: its model, its status machine, its one repository, its newest-first list walk and its wire serialisation. */

export * from "./list-walk.ts";
export * from "./model.ts";
export * from "./repository.ts";
export * from "./response.ts";
export * from "./state-machine.ts";
