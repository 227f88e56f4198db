// Toy policy pack for test/langhost/langhost.test.ts, run by the engine through the language
// host's RunPlugin: one mandatory and one advisory rule.
import { PolicyPack } from "@pulumi/policy";

new PolicyPack("toy-policy", {
  policies: [
    {
      name: "counter-start-even",
      description: "Counters start at an even number.",
      enforcementLevel: "mandatory",
      validateResource: (args, reportViolation) => {
        if (args.type === "pulumi-nodejs:dynamic/toy:Counter" && args.props.start % 2 !== 0) {
          reportViolation(`start ${args.props.start} is odd`);
        }
      },
    },
    {
      name: "box-size-small",
      description: "Boxes stay at size 10 or below.",
      enforcementLevel: "advisory",
      validateResource: (args, reportViolation) => {
        if (args.type === "toy:index:Box" && args.props.size > 10) {
          reportViolation(`size ${args.props.size} is above 10`);
        }
      },
    },
  ],
});
