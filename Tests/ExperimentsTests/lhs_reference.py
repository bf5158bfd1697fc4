"""The reference of LatinHypercubeTests.testASmallDesignCoversEveryStratumOnce: the Latin hypercube
of TPE's `startup: lhs` (Sources/Experiments/LatinHypercube.swift) written again from its description,
with SplitMix64 as Sources/NeuralNet/Random.swift: seed 7, 4 points, point i drawn with generator
seed 100 + i, over [0, 1], 3 categories, log-uniform [1e-4, 1] and the whole numbers 1...4.
Prints each point and its strata per dimension.

usage: python3 lhs_reference.py
"""
import math
M=(1<<64)-1
class SM:
    def __init__(s,seed): s.state=seed&M
    def next(s):
        s.state=(s.state+0x9E3779B97F4A7C15)&M; z=s.state
        z=((z^(z>>30))*0xBF58476D1CE4E5B9)&M; z=((z^(z>>27))*0x94D049BB133111EB)&M
        return z^(z>>31)
    def unit(s): return (s.next()>>11)*2.0**-53
def mix(a,b):
    g=SM(a); x=g.next(); return SM(x^b).next()
def perm(n,g):
    o=list(range(n)); last=n-1
    while last>0:
        j=g.next()%(last+1); o[last],o[j]=o[j],o[last]; last-=1
    return o
TAG=0x6C68736465736967
space=[("num",0,1,False,None),("cat",3),("num",1e-4,1,True,None),("num",1,4,False,1)]
def numval(u,lo,hi,islog,step):
    if step and not islog:
        cells=int(round((hi-lo)/step))+1
        return lo+min(int(u*cells),cells-1)*step
    half=(step or 0)/2
    a,b=(math.log(lo-half),math.log(hi+half)) if islog else (lo-half,hi+half)
    v=a+u*(b-a)
    if islog: v=math.exp(v)
    if step: v=lo+round((v-lo)/step)*step
    return min(max(v,lo),hi)
def point(seed,size,i,trialseed):
    g=SM(trialseed); out=[]; strata=[]
    for d,dim in enumerate(space):
        p=SM(mix(mix(seed,TAG),d)); st=perm(size,p)[i]; strata.append(st)
        if dim[0]=="cat": out.append(perm(dim[1],p)[st%dim[1]])
        else: out.append(numval((st+g.unit())/size,*dim[1:]))
    return out,strata
for i in range(4):
    print(point(7, 4, i, 100 + i))
