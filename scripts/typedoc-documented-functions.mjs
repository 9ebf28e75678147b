// TypeDoc plugin: every exported function has a doc comment. TypeDoc's own check
// (requiredToBeDocumented: "Function") also demands one on every method signature of every class;
// the rule here is the public surface (classes, functions, interfaces, type aliases, variables),
// so functions are checked here and typedoc.json lists the other kinds.
import { Application, ReflectionKind } from 'typedoc';

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const fn of project.getReflectionsByKind(ReflectionKind.Function)) {
      if (fn.hasComment() || fn.signatures?.some((s) => s.hasComment())) continue;
      const where = fn.sources?.[0] ? `${fn.sources[0].fileName}:${fn.sources[0].line}` : 'unknown file';
      app.logger.validationWarning(`${fn.getFriendlyFullName()} (Function), defined in ${where}, does not have any documentation`);
    }
  });
}
