"""Small SAM applications of the engine's tests, as teams write them."""

SCHEDULED_QUEUE_CONSUMER = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: worker.handler
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
  Nightly:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: worker.tick
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
"""

WORKER = """
import json

def handler(event, context):
    for record in event["Records"]:
        print(json.dumps({"handled": record["body"]}))

def tick(event, context):
    return "ok"
"""
