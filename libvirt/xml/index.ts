// libvirt XML for the project's resources: pure render/parse pairs per kind.
export * from "./domain";
export * from "./network";
export * from "./nwfilter";
export * from "./pool";
export * from "./volume";
