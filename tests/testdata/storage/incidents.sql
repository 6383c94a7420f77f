PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE incidents (id TEXT PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO incidents VALUES('SHBR68','{"acked_by":"tester","acked_ms":1796183620057,"alerts":[{"annotations":{"description":"silent for 4.9s (phi 8.6)","summary":"db-01 is DOWN"},"ends_at_ms":0,"firing":true,"labels":{"alertname":"SourceDown","dc":"dc1","role":"test","source":"db-01"},"starts_at_ms":1796183619949}],"group_key":"{}:{alertname=\"SourceDown\", source=\"db-01\"}","group_labels":{"alertname":"SourceDown","source":"db-01"},"id":"SHBR68","origin":"collector","policy":"default","reopened":0,"reopened_ms":0,"resolved_ms":0,"started_ms":1796183619951,"state":1}');
CREATE TABLE silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO silences VALUES('769f1c50-c13c-4d60-8389-ea555847a50f','{"comment":"db-02 maintenance","createdBy":"tester","endsAt":"2036-11-29T03:53:40.000Z","id":"769f1c50-c13c-4d60-8389-ea555847a50f","matchers":[{"isEqual":true,"isRegex":false,"name":"source","value":"db-02"}],"startsAt":"2026-12-02T03:53:40.074Z","updatedAt":"2026-12-02T03:53:40.074Z"}');
COMMIT;
PRAGMA application_id = 0;
PRAGMA user_version = 0;
