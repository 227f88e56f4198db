// Entry point the Pulumi engine runs. Constructing a PolicyPack starts the
// analyzer server, so nothing else lives here (tests import ./pack instead).
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./pack";

new PolicyPack(PACK_NAME, { policies });
