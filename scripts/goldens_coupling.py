#!/usr/bin/env python3
"""Reference values for transition's BH, Fisher, sign-flip, TOST and coupling tests.

Run from the repository root with the system Python (numpy, scipy, statsmodels:
python3-numpy python3-scipy python3-statsmodels):

    /usr/bin/python3 scripts/goldens_coupling.py

It prints the numbers pasted into transition/fdr_test.go, fisher_test.go,
leadlag_test.go and coupling_test.go, each computed independently of the Go code:

* Benjamini-Hochberg q-values: statsmodels multipletests(method="fdr_bh") on the non-NaN
  p-values, NaN put back in place;
* one-sided Fisher exact p: scipy.stats.fisher_exact(alternative="greater");
* sign-flip and TOST p-values: brute-force enumeration of all 2^n sign vectors;
* stratified Kendall S, its exact within-stratum permutation p and the Kendall-inversion
  interval of the stratified Theil-Sen slope: brute-force enumeration of every
  within-stratum permutation; the one-stratum case against scipy.stats.kendalltau
  (exact, alternative="greater") and scipy.stats.theilslopes.
"""
import numpy as np, itertools, math
from statsmodels.stats.multitest import multipletests
from scipy.stats import fisher_exact, theilslopes, kendalltau
p=np.array([0.01,0.04,0.03,np.nan,0.2,0.04,0.9,0.001,0.5,0.049])
ok=~np.isnan(p); q=np.full_like(p,np.nan); q[ok]=multipletests(p[ok],method='fdr_bh')[1]
print("BH", repr(list(q)))
for t in [(7,2,1,5),(3,3,3,3),(0,5,4,1),(10,0,0,10),(5,10,2,20),(1,0,0,1),(12,3,4,9)]:
    a,b,c,d=t; print("fisher",t, repr(fisher_exact([[a,b],[c,d]],alternative='greater')[1]))
lags=[0.3,-0.1,0.2,0.25,-0.05,0.4,0.1]; tol=0.18
def sf(v,alt):
    v=np.array(v); obs=v.sum(); n=len(v); c=0
    for s in itertools.product([1,-1],repeat=n):
        x=(np.array(s)*v).sum()
        if alt=='two': c+= abs(x)>=abs(obs)-1e-12
        elif alt=='g': c+= x>=obs-1e-12
        else: c+= x<=obs+1e-12
    return c/2**n
print("signflip two", repr(sf(lags,'two')), "tost lower", repr(sf([l+tol for l in lags],'g')), "tost upper", repr(sf([l-tol for l in lags],'l')))
# coupling
task=[1.5,1.62,1.41, 1.8,1.75,1.92,1.70, 2.0,2.2,2.1]
intl=[1.4,1.55,1.45, 1.6,1.72,1.81,1.64, 1.7,1.9,1.95]
strata=[0,0,0,1,1,1,1,2,2,2]
groups=[[i for i in range(10) if strata[i]==s] for s in range(3)]
def S(u):
    return sum(np.sign(task[j]-task[i])*np.sign(u[j]-u[i]) for g in groups for a,i in enumerate(g) for j in g[a+1:])
obs=S(intl); cnt=0; tot=0; Ds=[]
M=sum(len(g)*(len(g)-1)//2 for g in groups)
for p0 in itertools.permutations(groups[0]):
  for p1 in itertools.permutations(groups[1]):
    for p2 in itertools.permutations(groups[2]):
      u=list(intl)
      for g,pp in zip(groups,(p0,p1,p2)):
        for i,j in zip(g,pp): u[i]=intl[j]
      s=S(u); tot+=1; cnt+= s>=obs-1e-9; Ds.append(int(round((M-s)/2)))
print("couple S",obs,"tau",obs/M,"p",repr(cnt/tot),"minp",1/tot)
slopes=sorted((intl[j]-intl[i])/(task[j]-task[i]) for g in groups for a,i in enumerate(g) for j in g[a+1:])
Ds=np.array(Ds); dstar=-1
for d in range(M+1):
    if (Ds<=d).mean()<=0.025: dstar=d
print("slope", repr(float(np.median(slopes))), "ci", repr(slopes[dstar]), repr(slopes[len(slopes)-1-dstar]), "dstar", dstar)
# one stratum vs scipy theilslopes
print("theil one-stratum", repr(theilslopes(intl,task)[0]), "kendall tau", repr(kendalltau(task,intl)[0]), repr(kendalltau(task,intl,alternative='greater').pvalue))
# ties: internal tie within stratum 0
intl2=list(intl); intl2[1]=intl2[0]
obs=S(intl2); cnt=0; tot=0
for p0 in itertools.permutations(groups[0]):
  for p1 in itertools.permutations(groups[1]):
    for p2 in itertools.permutations(groups[2]):
      u=list(intl2)
      for g,pp in zip(groups,(p0,p1,p2)):
        for i,j in zip(g,pp): u[i]=intl2[j]
      s=S(u); tot+=1; cnt+= s>=obs-1e-9
print("ties S",obs,"p",repr(cnt/tot))
