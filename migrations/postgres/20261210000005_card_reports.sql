-- The registry's reports (REG-6) count one participant's cards by registration date: per journal,
-- month, direction and kind, and per executor and unit with deadline, control, status and
-- execution. Both indexes cover their query, so a report reads no card row.
CREATE INDEX cards_flow ON cards (participant, reg_date, journal, direction, kind);
CREATE INDEX cards_execution ON cards (participant, reg_date, executor, unit, deadline, control,
    status, executed_at, journal);
