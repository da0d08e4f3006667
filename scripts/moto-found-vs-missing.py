"""How much longer moto takes to answer reads of items that exist than of keys that do not (the
residue of the login timing comparison in docs/benchmarks.md).

scripts/with-moto.sh .venv/bin/python scripts/moto-found-vs-missing.py
"""
import boto3, time, statistics, os
c=boto3.client('dynamodb', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1')
c.create_table(TableName='t', KeySchema=[{'AttributeName':'pk','KeyType':'HASH'},{'AttributeName':'sk','KeyType':'RANGE'}],
  AttributeDefinitions=[{'AttributeName':'pk','AttributeType':'S'},{'AttributeName':'sk','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')
for i in range(3):
    c.put_item(TableName='t', Item={'pk':{'S':f'P#X#{i}'},'sk':{'S':'A'},'data':{'S':'x'*600},'n':{'N':'1'}})
def t(keys):
    s=time.perf_counter(); c.batch_get_item(RequestItems={'t':{'Keys':keys,'ConsistentRead':True}}); return (time.perf_counter()-s)*1000
found=[{'pk':{'S':f'P#X#{i}'},'sk':{'S':'A'}} for i in range(3)]
missing=[{'pk':{'S':f'P#Y#{i}'},'sk':{'S':'A'}} for i in range(3)]
a=[];b=[]
for _ in range(200):
    a.append(t(found)); b.append(t(missing))
print('batch found', statistics.median(a), 'missing', statistics.median(b))
def g(k):
    s=time.perf_counter(); c.get_item(TableName='t', Key=k, ConsistentRead=True); return (time.perf_counter()-s)*1000
a=[g(found[0]) for _ in range(200)]; b=[g(missing[0]) for _ in range(200)]
print('get found', statistics.median(a), 'missing', statistics.median(b))
