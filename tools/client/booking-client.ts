// An integrator's client, generated from docs/openapi.json by openapi-typescript and driven
// with openapi-fetch: book an appointment, list appointments, and narrow problems by `type`.
// tests/test_openapi_contract.py type-checks it under `tsc --strict` and runs it against a
// real server: BOOKING_URL, BOOKING_TOKEN (a staff token) and BOOKING_DAY (an open weekday).
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/booking.js";

// The three settings this script reads (no @types/node needed for them).
declare const process: { env: Record<string, string | undefined> };

type AppointmentStatus = components["schemas"]["AppointmentStatus"];

const baseUrl = process.env.BOOKING_URL ?? "http://127.0.0.1:8000";
const token = process.env.BOOKING_TOKEN ?? "";
const day = process.env.BOOKING_DAY ?? "";
const client = createClient<paths>({ baseUrl });
const desk = { Authorization: `Bearer ${token}` };

function fail(message: string): never {
  throw new Error(message);
}

const request: components["schemas"]["AppointmentCreate"] = {
  patient: {
    first_name: "Ana",
    last_name: "Ruiz",
    email: "ana.ruiz@example.com",
    phone: "(312) 555-0142",
    date_of_birth: "1980-04-02",
    is_new_patient: true,
  },
  reason_code: "back_pain",
  preferred_windows: [{ date: day, part_of_day: "morning" }],
  contact_preference: "email",
  urgent_symptoms: [],
  earlier_if_possible: false,
  consent: true,
};

async function main(): Promise<void> {
  // Book.
  const booked = await client.POST("/api/v1/appointments", {
    body: request,
    params: { header: { "Idempotency-Key": `ts-client-${Date.now()}` } },
  });
  if (booked.data === undefined) fail(`booking failed: ${booked.response.status}`);
  const id: string = booked.data.id;
  const status: AppointmentStatus = booked.data.status;

  // A refusal, narrowed by its type to the members that type carries.
  const refused = await client.POST("/api/v1/appointments", {
    body: { ...request, preferred_windows: [] },
  });
  const problem = refused.error ?? fail("an empty preferred_windows was accepted");
  // @ts-expect-error: only a validation problem has `errors`; the union must not allow it.
  void problem.errors;
  let badField = "";
  if (problem.type === "/problems/validation-error") {
    badField = problem.errors[0]?.field ?? "";
  }

  // List, as the desk does.
  const listed = await client.GET("/api/v1/appointments", {
    params: { query: { status: ["requested"], limit: 50 } },
    headers: desk,
  });
  if (listed.data === undefined) fail(`listing failed: ${listed.response.status}`);
  const listedIds = listed.data.items.map((item) => item.id);

  // Cancel twice: the second is a conflict that names the appointment's status.
  const cancel = {
    params: { path: { appointment_id: id } },
    body: { reason: "The patient called to cancel." },
    headers: desk,
  };
  await client.POST("/api/v1/appointments/{appointment_id}/cancel", cancel);
  const again = await client.POST("/api/v1/appointments/{appointment_id}/cancel", cancel);
  let currentStatus: AppointmentStatus | "" = "";
  const conflict = again.error ?? fail("a second cancel was accepted");
  if (conflict.type === "/problems/invalid-transition") {
    currentStatus = conflict.current_status;
  } else if (conflict.type === "/problems/precondition-failed") {
    const etag: string = conflict.current_etag;
    fail(`unexpected precondition failure ${etag}`);
  } else {
    fail(`unexpected problem ${conflict.type}: ${conflict.detail}`);
  }

  console.log(
    JSON.stringify({ id, status, badField, listed: listedIds.includes(id), currentStatus }),
  );
}

await main();
