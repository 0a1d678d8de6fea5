# One service account per function, each granted only its own buckets and
# prefixes (IAM conditions on object names); the monitor alone may write
# metrics. Invokers: the scheduler's account may call the monitor, the
# trigger's account the batch function, and only predict_invokers (or
# everyone, if public) the prediction function.

locals {
  logs_bucket  = google_storage_bucket.this["logs"].name
  batch_bucket = google_storage_bucket.this["batch"].name

  # Object-name prefixes each function may use, with the role it needs
  # there. Overwriting an object needs delete, so rewriters get objectUser:
  # a retried batch rewrites its output and log parts under the same keys,
  # and a retried log write may land on a key whose first try succeeded.
  grants = {
    predict_log_predictions = { fn = "predict", bucket = local.logs_bucket, role = "roles/storage.objectUser", prefixes = ["predictions/"], list = false }
    batch_read_input        = { fn = "batch", bucket = local.batch_bucket, role = "roles/storage.objectViewer", prefixes = ["input/"], list = false }
    batch_write_results     = { fn = "batch", bucket = local.batch_bucket, role = "roles/storage.objectUser", prefixes = ["output/", "errors/"], list = false }
    batch_log_predictions   = { fn = "batch", bucket = local.logs_bucket, role = "roles/storage.objectUser", prefixes = ["predictions/"], list = false }
    monitor_read_logs       = { fn = "monitor", bucket = local.logs_bucket, role = "roles/storage.objectViewer", prefixes = ["predictions/", "labels/"], list = true }
    monitor_write_state     = { fn = "monitor", bucket = local.logs_bucket, role = "roles/storage.objectUser", prefixes = ["monitor/"], list = true }
  }
}

resource "google_service_account" "function" {
  for_each     = local.functions
  project      = var.project
  account_id   = "${var.name}-${each.key}"
  display_name = "modelfn ${var.name}: ${each.key} function"
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = local.grants
  bucket   = each.value.bucket
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.fn].email}"

  condition {
    title       = each.key
    description = "${each.value.fn}: ${join(", ", each.value.prefixes)}"
    # Listing is checked against the bucket itself, reading and writing
    # against the object's name.
    expression = join(" || ", concat(
      [for p in each.value.prefixes : "resource.name.startsWith(\"projects/_/buckets/${each.value.bucket}/objects/${p}\")"],
      each.value.list ? ["resource.name == \"projects/_/buckets/${each.value.bucket}\""] : [],
    ))
  }
}

# Custom metrics: the monitor only. Writing time series has no narrower
# scope than the project.
resource "google_project_iam_member" "monitor_metrics" {
  project = var.project
  role    = "roles/monitoring.metricWriter"
  member  = "serviceAccount:${google_service_account.function["monitor"].email}"
}

# Cloud Scheduler calls the monitor with an OIDC token of this account.
resource "google_service_account" "scheduler" {
  project      = var.project
  account_id   = "${var.name}-scheduler"
  display_name = "modelfn ${var.name}: Cloud Scheduler runs the monitor"
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes_monitor" {
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.this["monitor"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# Eventarc delivers storage events to the batch function as this account.
resource "google_service_account" "trigger" {
  project      = var.project
  account_id   = "${var.name}-trigger"
  display_name = "modelfn ${var.name}: Eventarc delivers batch events"
}

resource "google_project_iam_member" "trigger_receives" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_batch" {
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.this["batch"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Storage publishes its events through Pub/Sub for Eventarc.
data "google_storage_project_service_account" "gcs" {
  project = var.project
}

resource "google_project_iam_member" "gcs_publishes" {
  project = var.project
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# Cloud Build builds the functions as this account: it reads the source
# bucket, pushes to the repository and writes build logs.
resource "google_service_account" "build" {
  project      = var.project
  account_id   = "${var.name}-build"
  display_name = "modelfn ${var.name}: builds the functions"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.this["source"].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes" {
  project    = var.project
  location   = var.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_project_iam_member" "build_logs" {
  project = var.project
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# Who may call the prediction function.
resource "google_cloud_run_v2_service_iam_member" "predict_invokers" {
  for_each = toset(var.predict_invokers)
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.this["predict"].name
  role     = "roles/run.invoker"
  member   = each.value
}

# Only with public = true: anyone on the internet.
resource "google_cloud_run_v2_service_iam_member" "predict_public" {
  count    = var.public ? 1 : 0
  project  = var.project
  location = var.region
  name     = google_cloudfunctions2_function.this["predict"].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
