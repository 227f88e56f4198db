// The generated gRPC stubs for pulumirpc.LanguageRuntime, loaded from @pulumi/pulumi.
//
// grpc-js and google-protobuf are loaded from the stubs' own location, not ours: the stubs'
// serializers check `instanceof` against the classes of the copies *they* require, so a second
// copy (a different version hoisted elsewhere) would make every reply fail to serialize.
import { createRequire } from "node:module";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as languageGrpcTypes from "@pulumi/pulumi/proto/language_grpc_pb";
import type * as languageTypes from "@pulumi/pulumi/proto/language_pb";
import type * as pluginTypes from "@pulumi/pulumi/proto/plugin_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";

const stubPath = require.resolve("@pulumi/pulumi/proto/language_grpc_pb");
const fromStubs = createRequire(stubPath);

export const grpc = fromStubs("@grpc/grpc-js") as typeof grpcTypes;
export const languageGrpc = fromStubs("./language_grpc_pb.js") as typeof languageGrpcTypes;
export const language = fromStubs("./language_pb.js") as typeof languageTypes;
export const plugin = fromStubs("./plugin_pb.js") as typeof pluginTypes;
export const Empty = (fromStubs("google-protobuf/google/protobuf/empty_pb.js") as typeof emptyTypes).Empty;
