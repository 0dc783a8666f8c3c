-- Workflows and their steps: the user-visible state of the job runner. The
-- queue itself (River) keeps its own tables; these rows say what each step
-- did, so the console and the API never need to read River's tables.
CREATE TABLE workflows (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL,
	input TEXT NOT NULL DEFAULT '{}',
	error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX workflows_kind_subject ON workflows(kind, subject);
CREATE INDEX workflows_state ON workflows(state);

CREATE TABLE workflow_steps (
	workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	job_id INTEGER,
	output TEXT,
	progress_done INTEGER NOT NULL DEFAULT 0,
	progress_total INTEGER NOT NULL DEFAULT 0,
	started_at TIMESTAMP,
	finished_at TIMESTAMP,
	PRIMARY KEY (workflow_id, idx)
);

-- One row per execution of a step: started when the step function is
-- called, finished when its success commits. Crash-resume is verified on it.
CREATE TABLE workflow_step_runs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	started_at TIMESTAMP NOT NULL,
	finished_at TIMESTAMP,
	outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workflow_step_runs_wf ON workflow_step_runs(workflow_id, idx);

-- Structured per-step log lines, shown by the console next to the graph.
CREATE TABLE workflow_logs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	at TIMESTAMP NOT NULL,
	level TEXT NOT NULL,
	msg TEXT NOT NULL,
	attrs TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX workflow_logs_wf ON workflow_logs(workflow_id, id);
