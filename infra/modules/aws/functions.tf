# Three functions from the same zip; MODELFN_FUNCTION picks the role.

resource "aws_cloudwatch_log_group" "function" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  for_each      = local.functions
  function_name = "${var.name}-${each.key}"
  description   = "modelfn ${var.model_name} ${var.model_version}: ${each.key}"
  role          = aws_iam_role.function[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]

  s3_bucket         = aws_s3_object.artifact.bucket
  s3_key            = aws_s3_object.artifact.key
  s3_object_version = aws_s3_object.artifact.version_id
  source_code_hash  = filebase64sha256(var.artifact_path)

  memory_size = var.memory_mb
  timeout     = each.key == "predict" ? var.timeout_seconds : var.batch_timeout_seconds

  # One monitor pass at a time: its checkpoint is one object.
  reserved_concurrent_executions = each.key == "monitor" ? 1 : null

  environment {
    variables = merge(local.environment, { MODELFN_FUNCTION = each.key })
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.function]
}

# The HTTPS endpoint. AWS_IAM unless the deployment opted into public.
resource "aws_lambda_function_url" "predict" {
  function_name      = aws_lambda_function.this["predict"].function_name
  authorization_type = var.public ? "NONE" : "AWS_IAM"
  invoke_mode        = "BUFFERED"
}

# A public URL needs both permissions for everyone, each limited to
# calls through the function URL.
resource "aws_lambda_permission" "public_url" {
  count                  = var.public ? 1 : 0
  statement_id           = "PublicFunctionURL"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this["predict"].function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "public_invoke" {
  count                    = var.public ? 1 : 0
  statement_id             = "PublicInvokeViaFunctionURL"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.this["predict"].function_name
  principal                = "*"
  invoked_via_function_url = true
}

# Batch: S3 invokes the function for objects created under input/ only,
# so output/ and errors/ never trigger it again.
resource "aws_lambda_permission" "batch_s3" {
  statement_id   = "S3InvokeBatch"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["batch"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this["batch"].arn
  source_account = local.account
}

resource "aws_s3_bucket_notification" "batch" {
  bucket = aws_s3_bucket.this["batch"].id

  lambda_function {
    lambda_function_arn = aws_lambda_function.this["batch"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "input/"
  }

  depends_on = [aws_lambda_permission.batch_s3]
}

# S3 invokes asynchronously: two retries, then the event goes to the
# failure queue (and its alarm) rather than into silence.
resource "aws_lambda_function_event_invoke_config" "batch" {
  function_name                = aws_lambda_function.this["batch"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-failures"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.this.arn
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "failures" {
  queue_url = aws_sqs_queue.failures.id
  policy    = data.aws_iam_policy_document.failures_tls_only.json
}

data "aws_iam_policy_document" "failures_tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [aws_sqs_queue.failures.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# Monitor: EventBridge Scheduler invokes it every monitor_interval_minutes
# with an event shaped like EventBridge's scheduled event.
resource "aws_scheduler_schedule" "monitor" {
  name                = "${var.name}-monitor"
  description         = "modelfn ${var.name}: run the drift monitor"
  schedule_expression = local.monitor_schedule

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this["monitor"].arn
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      version       = "0"
      id            = "<aws.scheduler.execution-id>"
      "detail-type" = "Scheduled Event"
      source        = "aws.scheduler"
      time          = "<aws.scheduler.scheduled-time>"
      resources     = ["<aws.scheduler.schedule-arn>"]
      detail        = {}
    })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}
