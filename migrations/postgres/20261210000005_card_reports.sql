-- The registry's reports (REG-6) count one participant's cards by registration date: per journal,
-- month, direction and kind; per executor and unit with deadline, control, status and execution;
-- and the executions on time, deadline by deadline. Each index covers its query, so a report
-- reads no card row.
CREATE INDEX cards_flow ON cards (participant, reg_date, journal, direction, kind);
CREATE INDEX cards_execution ON cards (participant, reg_date, executor, unit, deadline, control,
    status, executed_at, journal);
CREATE INDEX cards_deadlines ON cards (participant, deadline, reg_date, executed_at, executor,
    unit, journal);
